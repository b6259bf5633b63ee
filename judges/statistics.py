"""Statistics of a set of judged pairs: discounted-tie score, counts, CI, position effects,
the controlled scores beside the raw one (`judges.length_control`,
`judges.language_control`) and, for a panel of judges (`judges.panel`), every judge's own
statistics and their agreement (`judges.kappas`).

Confidence interval: percentile bootstrap over pairs. The per-pair scores (1 / 0.5 / 0) of the
valid pairs are resampled with replacement `samples` times (numpy's PCG64 seeded with `seed`),
and the interval is the (1 - confidence)/2 and (1 + confidence)/2 percentiles of the resampled
means (linear interpolation). Invalid pairs are excluded before resampling.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from judges.kappas import JudgeKappa, PanelKappa, cohen_kappas, fleiss
from judges.language_control import language_controlled
from judges.length_control import length_controlled_score
from judges.usage import TokenUsage, total
from judges.verdicts import Outcome, Verdict


@dataclass(frozen=True, slots=True)
class JudgedPair:
    """What statistics need of one pair: its outcome, the two verdicts (None if absent),
    whether its responses were identical or empty, their lengths in characters, whether
    each is in the prompt's language (None where unknown) and, for a panel, what each judge
    gave (by name; `ab` and `ba` are then the panel's majority verdicts), and the judge
    tokens its replies cost (`judges.usage`)."""

    outcome: Outcome
    ab: Verdict | None = None
    ba: Verdict | None = None
    identical: bool = False
    empty_a: bool = False
    empty_b: bool = False
    length_a: int | None = None
    length_b: int | None = None
    on_language_a: bool | None = None
    on_language_b: bool | None = None
    votes: Mapping[str, JudgedPair] | None = None
    usage: TokenUsage = field(default_factory=TokenUsage)


@dataclass(frozen=True, slots=True)
class JudgeScore:
    """One panel judge's own statistics over the panel's pairs, as if it had judged alone."""

    judge: str
    score: float | None
    ci_low: float | None
    ci_high: float | None
    wins: int
    ties: int
    losses: int
    invalid: int
    order_consistency: float | None
    first_position_preference: float | None
    usage: TokenUsage = field(default_factory=TokenUsage)


@dataclass(frozen=True, slots=True)
class PanelSummary:
    """A panel's judges, the orders where they gave no majority (each makes its pair
    invalid) and their agreement: Cohen's kappa for every two judges, Fleiss' for all."""

    judges: list[JudgeScore]
    orders_without_majority: int
    cohen_kappa: list[JudgeKappa]
    fleiss_kappa: PanelKappa


@dataclass(frozen=True, slots=True)
class Summary:
    """Scores in percent of model A against model B; None where nothing is valid."""

    pairs: int
    wins: int
    ties: int
    losses: int
    invalid: int
    identical: int
    empty_a: int
    empty_b: int
    score: float | None
    ci_low: float | None
    ci_high: float | None
    order_consistency: float | None
    first_position_preference: float | None
    length_controlled: float | None = None
    length_controlled_ci_low: float | None = None
    length_controlled_ci_high: float | None = None
    language_controlled: float | None = None
    language_controlled_ci_low: float | None = None
    language_controlled_ci_high: float | None = None
    off_language_a: float | None = None
    off_language_b: float | None = None
    panel: PanelSummary | None = None
    usage: TokenUsage = field(default_factory=TokenUsage)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def discounted_tie_score(outcomes: Iterable[Outcome]) -> float | None:
    """Mean of win 1 / tie 0.5 / loss 0 in percent over the valid outcomes."""
    values = [o.score for o in outcomes if o.score is not None]
    return 100.0 * sum(values) / len(values) if values else None


def bootstrap_interval(
    scores: Sequence[float], *, samples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float] | None:
    """Percentile-bootstrap interval of the mean of `scores` (in the same unit)."""
    if not scores:
        return None
    import numpy as np

    values = np.asarray(scores, dtype=float)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(samples, len(values)))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def summarize(
    pairs: Sequence[JudgedPair],
    *,
    samples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    length_samples: int | None = 1000,
) -> Summary:
    """Counts, score and bootstrap CI, order consistency and first-position preference, and
    the controlled scores where the pairs carry what they need.

    - `empty_a` / `empty_b`: pairs whose A / B response is empty (judged as they are, see
      `judges.sxs`), counted so that a reader sees a model that answers nothing;

    - order consistency: among pairs judged in both orders with two valid verdicts, the share
      whose two verdicts pick the same response (a win or a loss rather than a tie);
    - first-position preference: among all valid verdicts, the share that chose Answer1
      (50 means no position bias);
    - length-controlled score (`judges.length_control`, `length_samples` bootstrap refits;
      None skips it, it costs about a millisecond a refit) where every valid pair has its
      lengths;
    - language-controlled score and off-language shares (percent of pairs whose A / B
      response is not in the prompt's language) where every pair has both language checks;
    - for a panel (pairs with `votes`), every judge's own statistics and the kappas;
    - the judge tokens of every reply the pairs rest on (`judges.usage`).
    """
    counts = {outcome: 0 for outcome in Outcome}
    for pair in pairs:
        counts[pair.outcome] += 1
    valid = [100.0 * s for s in (p.outcome.score for p in pairs) if s is not None]
    interval = bootstrap_interval(valid, samples=samples, confidence=confidence, seed=seed)
    judged = [p for p in pairs if not p.identical and p.outcome is not Outcome.INVALID]
    consistent = sum(p.outcome is not Outcome.TIE for p in judged)
    verdicts = [v for p in pairs for v in (p.ab, p.ba) if v is not None]
    first = sum(v is Verdict.FIRST for v in verdicts)
    controlled = _controlled_scores(pairs, samples, confidence, seed, length_samples)
    return Summary(
        pairs=len(pairs),
        wins=counts[Outcome.WIN],
        ties=counts[Outcome.TIE],
        losses=counts[Outcome.LOSS],
        invalid=counts[Outcome.INVALID],
        identical=sum(p.identical for p in pairs),
        empty_a=sum(p.empty_a for p in pairs),
        empty_b=sum(p.empty_b for p in pairs),
        score=discounted_tie_score(p.outcome for p in pairs),
        ci_low=interval[0] if interval else None,
        ci_high=interval[1] if interval else None,
        order_consistency=100.0 * consistent / len(judged) if judged else None,
        first_position_preference=100.0 * first / len(verdicts) if verdicts else None,
        **controlled,
        panel=_panel(pairs, samples, confidence, seed) if pairs and pairs[0].votes else None,
        usage=total(pair.usage for pair in pairs),
    )


def _panel(pairs: Sequence[JudgedPair], samples: int, confidence: float, seed: int) -> PanelSummary:
    judges = list(pairs[0].votes or {})
    if any(list(pair.votes or {}) != judges for pair in pairs):
        raise ValueError("every pair of a panel needs a vote of the same judges")
    votes = {judge: [(pair.votes or {})[judge] for pair in pairs] for judge in judges}
    scores = []
    for judge, own in votes.items():
        alone = summarize(own, samples=samples, confidence=confidence, seed=seed,
                          length_samples=None)  # fmt: skip
        scores.append(JudgeScore(
            judge, alone.score, alone.ci_low, alone.ci_high, alone.wins, alone.ties,
            alone.losses, alone.invalid, alone.order_consistency, alone.first_position_preference,
            alone.usage,
        ))  # fmt: skip
    judged = [index for index, pair in enumerate(pairs) if not pair.identical]
    outcomes = {judge: [own[index].outcome for index in judged] for judge, own in votes.items()}
    return PanelSummary(
        judges=scores,
        orders_without_majority=sum(
            (pairs[index].ab is None) + (pairs[index].ba is None) for index in judged
        ),
        cohen_kappa=cohen_kappas(outcomes),
        fleiss_kappa=fleiss(outcomes),
    )


def _controlled_scores(
    pairs: Sequence[JudgedPair],
    samples: int,
    confidence: float,
    seed: int,
    length_samples: int | None,
) -> dict[str, float | None]:
    found: dict[str, float | None] = {}
    valid = [p for p in pairs if p.outcome.score is not None]
    if length_samples and all(p.length_a is not None and p.length_b is not None for p in valid):
        controlled = length_controlled_score(
            [p.outcome.score for p in valid if p.outcome.score is not None],
            [p.length_a or 0 for p in valid],
            [p.length_b or 0 for p in valid],
            samples=length_samples,
            confidence=confidence,
            seed=seed,
        )
        if controlled is not None:
            found |= {
                "length_controlled": controlled.score,
                "length_controlled_ci_low": controlled.ci_low,
                "length_controlled_ci_high": controlled.ci_high,
            }
    checked = [(p, p.on_language_a, p.on_language_b) for p in pairs]
    if pairs and all(a is not None and b is not None for _, a, b in checked):
        outcomes = [language_controlled(p.outcome, bool(a), bool(b)) for p, a, b in checked]
        scores = [100.0 * o.score for o in outcomes if o.score is not None]
        interval = bootstrap_interval(scores, samples=samples, confidence=confidence, seed=seed)
        found |= {
            "language_controlled": discounted_tie_score(outcomes),
            "language_controlled_ci_low": interval[0] if interval else None,
            "language_controlled_ci_high": interval[1] if interval else None,
            "off_language_a": 100.0 * sum(not a for _, a, _ in checked) / len(pairs),
            "off_language_b": 100.0 * sum(not b for _, _, b in checked) / len(pairs),
        }
    return found
