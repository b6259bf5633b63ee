"""Bradley–Terry ratings of every model of a matrix, per language, from the same results.

Each judged item of a cell is a comparison between the row model and the language's
baseline: a win counts as one win of the row, a loss as one of the baseline, a tie as half a
win each. choix takes whole comparisons, so every count is doubled: a win or a loss is
entered twice, a tie once each way (the maximum-likelihood estimate is unchanged by doubling;
`alpha` acts on the doubled counts). With two models, the rating is then
ln((wins + ties/2) / (losses + ties/2)) up to the regularisation. Strengths are fitted by
choix's I-LSR (`ilsr_pairwise`) with a small ridge (`alpha`) so a model that never lost still
gets a finite rating; ratings are the fitted log-strengths, shifted so the baseline is 0, on
the Elo scale (400 / ln 10 per unit).
"""

from __future__ import annotations

import math

from service.matrix.results import MatrixResults

ELO_PER_UNIT = 400 / math.log(10)


def bradley_terry(results: MatrixResults, alpha: float = 0.01) -> dict[str, dict[str, float]]:
    """language → model → rating (Elo points, the baseline at 0) for languages with data."""
    import choix

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
        index = {model: position for position, model in enumerate(models)}
        comparisons: list[tuple[int, int]] = []
        for cell in cells:
            row, base = index[cell.row], index[baseline]
            comparisons += [(row, base)] * (2 * cell.wins + cell.ties)
            comparisons += [(base, row)] * (2 * cell.losses + cell.ties)
        strengths = choix.ilsr_pairwise(len(models), comparisons, alpha=alpha)
        zero = float(strengths[index[baseline]])
        ratings[language] = {
            model: ELO_PER_UNIT * (float(strengths[position]) - zero)
            for model, position in index.items()
        }
    return ratings


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
