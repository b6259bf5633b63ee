"""Bradley–Terry ratings of every model of a matrix, per language, from the same results.

Each judged item of a cell is a comparison between the row model and the cell's baseline (the
language's, or in a round robin the other row): a win counts as one win of the row, a loss as
one of the baseline, a tie as half a win each. choix takes whole comparisons, so every count is
doubled: a win or a loss is entered twice, a tie once each way (the maximum-likelihood estimate
is unchanged by doubling; `alpha` acts on the doubled counts). With two models, the rating is
then ln((wins + ties/2) / (losses + ties/2)) up to the regularisation. Strengths are fitted by
choix's I-LSR (`ilsr_pairwise`) with a small ridge (`alpha`) so a model that never lost still
gets a finite rating; ratings are the fitted log-strengths, shifted so the baseline is 0, on the
Elo scale (400 / ln 10 per unit).

A round robin (`all_pairs`) has no baseline: its ratings are centred on the models' mean, and
each has a percentile-bootstrap 95% CI: every cell's items are resampled (its win / tie / loss
counts drawn again, multinomially, from their own shares), the model refitted, `samples` times.
Only models with a scored comparison in the language are fitted: one whose every cell failed
gets no rating (the ridge would give it one near the mean), listed last with the reason; one
compared with fewer than half of the others is rated with a note saying so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from service.matrix.results import Cell, MatrixResults

ELO_PER_UNIT = 400 / math.log(10)


@dataclass(frozen=True, slots=True)
class Rating:
    """A model's rating (Elo points) with its bootstrap 95% CI; none, with the reason in
    `note`, for a model without a scored comparison in the language. `note` also says when a
    rating rests on comparisons with few of the other models."""

    rating: float | None
    ci_low: float | None
    ci_high: float | None
    note: str | None = None


def fitted_strengths(
    models: Sequence[str], counts: Sequence[tuple[str, str, int, int, int]], alpha: float
) -> list[float]:
    """Log-strengths of `models` from (row, opponent, wins, ties, losses) counts (ties half a
    win each way, every count doubled for choix; see the module)."""
    import choix

    index = {model: position for position, model in enumerate(models)}
    comparisons: list[tuple[int, int]] = []
    for row, opponent, wins, ties, losses in counts:
        comparisons += [(index[row], index[opponent])] * (2 * wins + ties)
        comparisons += [(index[opponent], index[row])] * (2 * losses + ties)
    return [float(value) for value in choix.ilsr_pairwise(len(models), comparisons, alpha=alpha)]


def bradley_terry(results: MatrixResults, alpha: float = 0.01) -> dict[str, dict[str, float]]:
    """language → model → rating (Elo points, the baseline at 0) for languages with data."""
    ratings: dict[str, dict[str, float]] = {}
    for language in results.recipe.languages:
        baseline = results.recipe.baselines[language]
        cells = [
            cell
            for cell in results.cells
            if cell.language == language and not cell.diagonal and cell.score is not None
        ]
        if not cells:
            continue
        models = [baseline, *(cell.row for cell in cells)]
        strengths = fitted_strengths(models, [_counts(cell) for cell in cells], alpha)
        ratings[language] = {
            model: ELO_PER_UNIT * (strength - strengths[0])
            for model, strength in zip(models, strengths, strict=True)
        }
    return ratings


def round_robin_ratings(
    results: MatrixResults, *, alpha: float = 0.01, samples: int = 500, seed: int = 0
) -> dict[str, dict[str, Rating]]:
    """language → model → rating with its bootstrap CI (Elo points, the models' mean at 0),
    for a round robin's languages with data; best first. Fitted once per set of counts (the
    files and the terminal show the same fit)."""
    models = tuple(row.model for row in results.recipe.rows)
    by_language = tuple(
        (language, tuple(_counts(c) for c in results.cells
                         if c.language == language and c.score is not None))
        for language in results.recipe.languages
    )  # fmt: skip
    return _fitted_round_robin(models, by_language, alpha, samples, seed)


@lru_cache(maxsize=4)
def _fitted_round_robin(
    models: tuple[str, ...],
    by_language: tuple[tuple[str, tuple[tuple[str, str, int, int, int], ...]], ...],
    alpha: float,
    samples: int,
    seed: int,
) -> dict[str, dict[str, Rating]]:
    import numpy as np

    rng = np.random.default_rng(seed)
    ratings: dict[str, dict[str, Rating]] = {}
    for language, counts in by_language:
        if not counts:
            continue
        opponents = {model: {o for r, o, *_ in counts if r == model}
                     | {r for r, o, *_ in counts if o == model} for model in models}  # fmt: skip
        unrated = {model: Rating(None, None, None, f"no rating: no scored comparison in "
                                 f"{language} (no cell with it has a score)")
                   for model in models if not opponents[model]}  # fmt: skip
        rated = tuple(model for model in models if opponents[model])
        found = _bootstrapped(rated, counts, alpha, samples, rng)
        for model, rating in found.items():
            compared = len(opponents[model])
            if compared < (len(rated) - 1) / 2:
                note = f"compared with {compared} of the {len(rated) - 1} other rated models"
                found[model] = Rating(rating.rating, rating.ci_low, rating.ci_high, note)
        ordered = sorted(found.items(), key=lambda item: -(item[1].rating or 0.0))
        ratings[language] = dict(ordered) | unrated
    return ratings


def _bootstrapped(
    models: tuple[str, ...],
    counts: tuple[tuple[str, str, int, int, int], ...],
    alpha: float,
    samples: int,
    rng: Any,
) -> dict[str, Rating]:
    """Ratings of `models` (each in some count) with percentile-bootstrap CIs."""
    import numpy as np

    point = _centred(fitted_strengths(models, counts, alpha))
    draws = []
    for _ in range(samples):
        resampled = []
        for row, opponent, wins, ties, losses in counts:
            total = wins + ties + losses
            drawn = rng.multinomial(total, [wins / total, ties / total, losses / total])
            resampled.append((row, opponent, int(drawn[0]), int(drawn[1]), int(drawn[2])))
        draws.append(_centred(fitted_strengths(models, resampled, alpha)))
    low, high = np.quantile(np.array(draws), [0.025, 0.975], axis=0)
    return {
        model: Rating(point[i], float(low[i]), float(high[i])) for i, model in enumerate(models)
    }


def round_robin_markdown(ratings: dict[str, dict[str, Rating]]) -> str:
    """A table per language: rank, model, rating and its 95% CI."""
    parts = []
    for language, per_model in ratings.items():
        lines = [f"## {language}", "", "| rank | model | rating | 95% CI |", "|---:|---|---:|---|"]
        for rank, (model, rating) in enumerate(per_model.items(), start=1):
            if rating.rating is None:
                lines.append(f"| — | {model} | — | {rating.note} |")
                continue
            interval = f"[{rating.ci_low:+.0f}, {rating.ci_high:+.0f}]"
            note = f" ({rating.note})" if rating.note else ""
            lines.append(f"| {rank} | {model} | {rating.rating:+.0f} | {interval}{note} |")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def _counts(cell: Cell) -> tuple[str, str, int, int, int]:
    return cell.row, cell.baseline, cell.wins, cell.ties, cell.losses


def _centred(strengths: list[float]) -> list[float]:
    mean = sum(strengths) / len(strengths)
    return [ELO_PER_UNIT * (strength - mean) for strength in strengths]


def ratings_markdown(ratings: dict[str, dict[str, float]]) -> str:
    """language × model table of ratings (Elo points against the language's baseline)."""
    if not ratings:
        return ""
    models = list(dict.fromkeys(m for per_language in ratings.values() for m in per_language))
    lines = ["| model | " + " | ".join(ratings) + " |", "|---|" + "---:|" * len(ratings)]
    for model in models:
        values = [ratings[language].get(model) for language in ratings]
        texts = ["" if v is None else f"{v:+.0f}" for v in values]
        lines.append(f"| {model} | " + " | ".join(texts) + " |")
    return "\n".join(lines) + "\n"
