"""Judge–human agreement of the paper's Appendix D.

Per item: 1 when both pick the same answer (or both say tie), 0.5 when exactly one of them says
tie, 0 when they pick different answers. Agreement = mean over the items both files label, in
percent, with a percentile-bootstrap 95% CI over items (`judges.statistics.bootstrap_interval`).
When the label files give an item's `language`, agreement is also reported per language (an
item whose two files name different languages is an error).

Files that also record each order's verdict (`ab` / `ba`, as results files and a distilled
judge's held-out set do) are compared as two judges, over the ids both hold: exact match (the
share of orders both judged validly where they gave the same digit) and, for each judge, its
invalid pairs, order consistency and first-position preference (`judges.statistics`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, field_validator

from common.errors import InputFileError
from common.jsonl import number_as_text, read_models
from judges.errors import NothingToCompareError
from judges.results import Label, RecordedCall
from judges.statistics import JudgedPair, bootstrap_interval, summarize
from judges.verdicts import Order, Verdict, outcome_of


class LabelRecord(BaseModel):
    """One line of a label file: `{id, label}` with label '1', '2' or 'tie' (null: skipped),
    and optionally the item's `language`."""

    model_config = ConfigDict(extra="ignore")

    id: str
    label: Label | None
    language: str | None = None
    ab: RecordedCall | None = None
    ba: RecordedCall | None = None

    @property
    def has_orders(self) -> bool:
        """Whether the record keeps its verdict per order."""
        return self.ab is not None or self.ba is not None

    def verdict(self, order: Order) -> Verdict | None:
        """The verdict given on the prompt in `order` (None: invalid or not recorded)."""
        call = self.ab if order is Order.AB else self.ba
        return None if call is None else call.verdict

    @field_validator("id", "label", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        return number_as_text(value)


Record = TypeVar("Record", bound=LabelRecord)


@dataclass(frozen=True, slots=True)
class Share:
    """Agreement in percent over `n` items, with its bootstrap 95% CI."""

    percent: float
    ci_low: float
    ci_high: float
    n: int


@dataclass(frozen=True, slots=True)
class JudgeBehaviour:
    """One judge over the compared pairs: pairs, invalid pairs, order consistency and
    first-position preference in percent (50: no position bias)."""

    pairs: int
    invalid: int
    order_consistency: float | None
    first_position_preference: float | None


@dataclass(frozen=True, slots=True)
class OrderMatch:
    """Two judges compared order by order: the percent of the `orders` both judged validly
    where they gave the same digit, and what each judge did."""

    exact_match: float | None
    orders: int
    first: JudgeBehaviour
    second: JudgeBehaviour


@dataclass(frozen=True, slots=True)
class Agreement:
    """Agreement in percent over `n` common items, what could not be compared, and the same
    per language where the labels name one."""

    percent: float
    ci_low: float
    ci_high: float
    n: int
    only_first: int
    only_second: int
    unlabelled: int
    by_language: dict[str, Share]
    orders: OrderMatch | None = None


def item_agreement(first: Label, second: Label) -> float:
    """1 for the same label, 0.5 when exactly one is a tie, 0 for opposite picks."""
    if first is second:
        return 1.0
    if Label.TIE in (first, second):
        return 0.5
    return 0.0


def read_labels(path: Path) -> dict[str, LabelRecord]:
    """Label records by id; a repeated id is an error naming its line."""
    return read_records(path, LabelRecord)


def read_records(path: Path, model: type[Record]) -> dict[str, Record]:
    """Records of `model` (a label record) by id; a repeated id is an error naming its line."""
    labels: dict[str, Record] = {}
    for number, record in read_models(path, model):
        if record.id in labels:
            raise InputFileError(str(path), number, f"id {record.id!r} is labelled twice")
        labels[record.id] = record
    return labels


def agreement(
    first: Mapping[str, LabelRecord | Label | None],
    second: Mapping[str, LabelRecord | Label | None],
) -> Agreement:
    """Appendix-D agreement over the ids labelled (not null) in both mappings, overall and per
    language."""
    common = sorted(first.keys() & second.keys())
    scored: list[tuple[str | None, float]] = []
    for item in common:
        a, b = _record(item, first[item]), _record(item, second[item])
        if a.label is None or b.label is None:
            continue
        if a.language and b.language and a.language != b.language:
            raise NothingToCompareError(
                f"item {item!r} is in {a.language!r} in the first file and in {b.language!r} "
                "in the second; the files do not label the same items"
            )
        scored.append((a.language or b.language, item_agreement(a.label, b.label)))
    if not scored:
        raise NothingToCompareError(
            "the two label files share no labelled id; check that both use the same ids"
        )
    overall = _share([score for _, score in scored])
    languages = sorted({language for language, _ in scored if language})
    return Agreement(
        percent=overall.percent,
        ci_low=overall.ci_low,
        ci_high=overall.ci_high,
        n=overall.n,
        only_first=len(first.keys() - second.keys()),
        only_second=len(second.keys() - first.keys()),
        unlabelled=len(common) - len(scored),
        by_language={
            language: _share([score for lang, score in scored if lang == language])
            for language in languages
        },
        orders=order_match(
            [_record(item, first[item]) for item in common],
            [_record(item, second[item]) for item in common],
        ),
    )


def order_match(first: list[LabelRecord], second: list[LabelRecord]) -> OrderMatch | None:
    """The order-by-order comparison of two judges' records of the same ids (None when
    either side does not keep its verdicts per order)."""
    kept = [(a, b) for a, b in zip(first, second, strict=True) if a.has_orders and b.has_orders]
    if not kept:
        return None
    both = [(a.verdict(o), b.verdict(o)) for a, b in kept for o in Order]
    valid = [(x, y) for x, y in both if x is not None and y is not None]
    same = sum(x is y for x, y in valid)
    return OrderMatch(
        exact_match=100.0 * same / len(valid) if valid else None,
        orders=len(valid),
        first=behaviour([a for a, _ in kept]),
        second=behaviour([b for _, b in kept]),
    )


def behaviour(records: Sequence[LabelRecord]) -> JudgeBehaviour:
    """A judge's pairs, invalid pairs, order consistency and first-position preference over
    records that keep both orders' verdicts."""
    pairs = [
        JudgedPair(outcome_of(r.verdict(Order.AB), r.verdict(Order.BA)),
                   r.verdict(Order.AB), r.verdict(Order.BA))
        for r in records
    ]  # fmt: skip
    summary = summarize(pairs, samples=1, length_samples=None)
    return JudgeBehaviour(
        pairs=summary.pairs,
        invalid=summary.invalid,
        order_consistency=summary.order_consistency,
        first_position_preference=summary.first_position_preference,
    )


def _record(item: str, value: LabelRecord | Label | None) -> LabelRecord:
    return value if isinstance(value, LabelRecord) else LabelRecord(id=item, label=value)


def _share(scores: list[float]) -> Share:
    percents = [100.0 * score for score in scores]
    interval = bootstrap_interval(percents)
    assert interval is not None  # scores is never empty here
    return Share(sum(percents) / len(percents), interval[0], interval[1], len(percents))
