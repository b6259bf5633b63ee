"""A judge's report card: whether its verdicts can be trusted, in one place.

Over a judge file (a results file of `sxs judge`, a comparison's items, or any label file) and
a file of reference labels (humans, or a teacher) with the same ids: agreement (Appendix D)
with its 95% CI, overall and per language; Cohen's kappa; the judge's first-position
preference and order consistency (where it records both orders); length bias (how often the
longer answer wins, beside how often the labels prefer it on the same pairs, and the slope of a
logistic fit of "A wins" on ln(length A / length B)); self-preference (where the pairs name
their models); the invalid rate; tokens and price per 1,000 pairs. What a file does not let
the card compute is named in `gaps`, never filled with a number.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import model_validator

from judges.agreement import (
    JudgeBehaviour,
    LabelRecord,
    Share,
    agreement,
    behaviour,
    read_records,
)
from judges.errors import NothingToCompareError
from judges.results import Label, response_fields
from judges.usage import JudgePrices, TokenUsage, total


class CardRecord(LabelRecord):
    """A judge file's line: a label record with, where known, the two responses' lengths (or
    the responses) and the two models compared."""

    length_a: int | None = None
    length_b: int | None = None
    model_a: str | None = None
    model_b: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _lengths_from_responses(cls, data: Any) -> Any:
        return response_fields(data) | data if isinstance(data, dict) else data

    @property
    def usage(self) -> TokenUsage:
        """The judge tokens this pair's recorded calls cost (nothing when none is recorded)."""
        return total(call.usage for call in (self.ab, self.ba) if call is not None)


def read_card_records(path: Path) -> dict[str, CardRecord]:
    """A judge (or label) file's records by id (`read_labels`, with lengths and models)."""
    return read_records(path, CardRecord)


@dataclass(frozen=True, slots=True)
class LengthBias:
    """Over `pairs` decisive pairs of unequal length: how often (percent) the judge and the
    labels prefer the longer answer, and the judge's logistic slope per unit of ln(length A /
    length B) with its 95% CI (0: length does not move it)."""

    pairs: int
    judge_longer_wins: float
    labels_longer_wins: float | None
    slope: float | None
    slope_ci: tuple[float, float] | None


@dataclass(frozen=True, slots=True)
class SelfPreference:
    """How the judge scores `model` (1 / 0.5 / 0 per pair, in percent) against how the labels
    score it, over the `pairs` both label that compare it: `excess` in points."""

    model: str
    pairs: int
    judge_score: float
    labels_score: float
    excess: float


@dataclass(frozen=True, slots=True)
class Cost:
    """Judge tokens and price per 1,000 pairs, over `pairs` whose calls reported usage."""

    pairs: int
    prompt_tokens_per_1000: float
    completion_tokens_per_1000: float
    price_per_1000: float | None


@dataclass(frozen=True, slots=True)
class ReportCard:
    """A judge's card against reference labels (see the module)."""

    judge: str
    labels: str
    agreement: Share
    by_language: dict[str, Share]
    kappa: float | None
    invalid: int
    invalid_rate: float
    behaviour: JudgeBehaviour | None
    length: LengthBias | None
    self_preference: SelfPreference | None
    cost: Cost | None
    gaps: list[str] = field(default_factory=list)


def report_card(
    judge: Mapping[str, CardRecord],
    labels: Mapping[str, LabelRecord],
    *,
    names: tuple[str, str] = ("judge", "labels"),
    judge_model: str | None = None,
    prices: JudgePrices | None = None,
) -> ReportCard:
    """The card of `judge`'s records against `labels` over the ids both hold."""
    common = sorted(judge.keys() & labels.keys())
    labelled = [item for item in common if labels[item].label is not None]
    if not labelled:
        raise NothingToCompareError(
            f"{names[0]} and {names[1]} share no labelled id; check that both use the same ids"
        )
    found = agreement(judge, labels)
    both = [(judge[i], labels[i]) for i in labelled if judge[i].label is not None]
    gaps: list[str] = []
    records = [judge[item] for item in labelled]
    ordered = [record for record in records if record.has_orders]
    if not ordered:
        gaps.append("position bias: the judge file records one verdict a pair, not both orders")
    return ReportCard(
        judge=names[0],
        labels=names[1],
        agreement=Share(found.percent, found.ci_low, found.ci_high, found.n),
        by_language=found.by_language,
        kappa=_kappa(both, gaps),
        invalid=len(labelled) - len(both),
        invalid_rate=100.0 * (len(labelled) - len(both)) / len(labelled),
        behaviour=behaviour(ordered) if ordered else None,
        length=_length_bias(both, gaps),
        self_preference=_self_preference(both, judge_model, gaps),
        cost=_cost(records, prices, gaps),
        gaps=gaps,
    )


def _kappa(both: list[tuple[CardRecord, LabelRecord]], gaps: list[str]) -> float | None:
    from sklearn.metrics import cohen_kappa_score

    ours, theirs = [str(j.label) for j, _ in both], [str(h.label) for _, h in both]
    if len(set(ours) | set(theirs)) < 2:
        gaps.append("kappa: every label is the same, so chance agreement is total")
        return None
    return float(cohen_kappa_score(ours, theirs))


def _longer_is_a(record: CardRecord) -> bool | None:
    if record.length_a is None or record.length_b is None or record.length_a == record.length_b:
        return None
    return record.length_a > record.length_b


def _length_bias(both: list[tuple[CardRecord, LabelRecord]], gaps: list[str]) -> LengthBias | None:
    decisive = [(j, h) for j, h in both
                if j.label is not Label.TIE and _longer_is_a(j) is not None and j.length_a
                and j.length_b]  # fmt: skip
    if not decisive:
        measured = any(j.length_a is not None and j.length_b is not None for j, _ in both)
        gaps.append(
            "length bias: the judge picked no answer over another of a different length"
            if measured
            else "length bias: the judge file gives no response lengths (length_a/length_b or "
            "response_a/response_b)"
        )
        return None
    judge_longer = [(j.label is Label.A) == _longer_is_a(j) for j, _ in decisive]
    human = [
        (h.label is Label.A) == _longer_is_a(j) for j, h in decisive if h.label is not Label.TIE
    ]
    slope, interval = _slope(decisive, gaps)
    return LengthBias(
        pairs=len(decisive),
        judge_longer_wins=100.0 * sum(judge_longer) / len(judge_longer),
        labels_longer_wins=100.0 * sum(human) / len(human) if human else None,
        slope=slope,
        slope_ci=interval,
    )


def _slope(
    decisive: list[tuple[CardRecord, LabelRecord]], gaps: list[str]
) -> tuple[float | None, tuple[float, float] | None]:
    import numpy as np
    import statsmodels.api as sm

    x = np.array([math.log((j.length_a or 1) / (j.length_b or 1)) for j, _ in decisive])
    y = np.array([1.0 if j.label is Label.A else 0.0 for j, _ in decisive])
    if y.min() == y.max() or x.min() == x.max():
        gaps.append("length slope: the judge always picks one side, or every ratio is equal")
        return None, None
    if x[y == 0].max() <= x[y == 1].min() or x[y == 1].max() <= x[y == 0].min():
        gaps.append("length slope: the length ratio alone decides every verdict (perfect "
                    "separation): the slope is unbounded")  # fmt: skip
        return None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; a failed fit is reported below
        try:
            fit = sm.Logit(y, sm.add_constant(x)).fit(disp=False)
        except Exception as error:  # statsmodels' separation and singular-matrix errors
            gaps.append(f"length slope: the logistic fit failed ({error})")
            return None, None
    if not fit.mle_retvals.get("converged", False):
        gaps.append("length slope: the logistic fit did not converge")
        return None, None
    low, high = fit.conf_int()[1]
    return float(fit.params[1]), (float(low), float(high))


def _points(record: LabelRecord, own_is_a: bool) -> float:
    if record.label is Label.TIE:
        return 50.0
    return 100.0 if (record.label is Label.A) == own_is_a else 0.0


def _models(judge: CardRecord, labels: LabelRecord) -> tuple[str | None, str | None]:
    """The pair's two models, as the judge file names them or else the label file."""
    if judge.model_a or judge.model_b or not isinstance(labels, CardRecord):
        return judge.model_a, judge.model_b
    return labels.model_a, labels.model_b


def _self_preference(
    both: list[tuple[CardRecord, LabelRecord]], model: str | None, gaps: list[str]
) -> SelfPreference | None:
    if model is None:
        gaps.append("self-preference: no --judge-model given (the judge's own model)")
        return None
    named = [(j, h, _models(j, h)) for j, h in both]
    pairs = [(j, h, a == model) for j, h, (a, b) in named if (a == model) != (b == model)]
    if not pairs:
        gaps.append(f"self-preference: no pair names {model!r} as model_a or model_b")
        return None
    judge_score = sum(_points(j, own) for j, _, own in pairs) / len(pairs)
    labels_score = sum(_points(h, own) for _, h, own in pairs) / len(pairs)
    return SelfPreference(model, len(pairs), judge_score, labels_score, judge_score - labels_score)


def _cost(records: list[CardRecord], prices: JudgePrices | None, gaps: list[str]) -> Cost | None:
    reported = [record.usage for record in records if record.usage.replies]
    if not reported:
        gaps.append("tokens: the judge file records no token usage")
        return None
    if prices is None:
        gaps.append("price: no prices given for the judge (--prompt-price, --completion-price)")
    usage, scale = total(reported), 1000 / len(reported)
    cost = usage.cost(prices)
    return Cost(
        pairs=len(reported),
        prompt_tokens_per_1000=usage.prompt_tokens * scale,
        completion_tokens_per_1000=usage.completion_tokens * scale,
        price_per_1000=None if cost is None else cost * scale,
    )
