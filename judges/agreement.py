"""Judge–human agreement of the paper's Appendix D.

Per item: 1 when both pick the same answer (or both say tie), 0.5 when exactly one of them says
tie, 0 when they pick different answers. Agreement = mean over the items both files label, in
percent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

from common.errors import InputFileError
from common.jsonl import number_as_text, read_models
from judges.errors import NothingToCompareError
from judges.results import Label


class LabelRecord(BaseModel):
    """One line of a label file: `{id, label}` with label '1', '2' or 'tie' (null: skipped)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    label: Label | None

    @field_validator("id", "label", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        return number_as_text(value)


@dataclass(frozen=True, slots=True)
class Agreement:
    """Agreement in percent over `n` common items, and what could not be compared."""

    percent: float
    n: int
    only_first: int
    only_second: int
    unlabelled: int


def item_agreement(first: Label, second: Label) -> float:
    """1 for the same label, 0.5 when exactly one is a tie, 0 for opposite picks."""
    if first is second:
        return 1.0
    if Label.TIE in (first, second):
        return 0.5
    return 0.0


def read_labels(path: Path) -> dict[str, Label | None]:
    """Labels by id; a repeated id is an error naming its line."""
    labels: dict[str, Label | None] = {}
    for number, record in read_models(path, LabelRecord):
        if record.id in labels:
            raise InputFileError(str(path), number, f"id {record.id!r} is labelled twice")
        labels[record.id] = record.label
    return labels


def agreement(first: Mapping[str, Label | None], second: Mapping[str, Label | None]) -> Agreement:
    """Appendix-D agreement over the ids labelled (not null) in both mappings."""
    common = first.keys() & second.keys()
    scores = [
        item_agreement(a, b)
        for a, b in ((first[i], second[i]) for i in common)
        if a is not None and b is not None
    ]
    if not scores:
        raise NothingToCompareError(
            "the two label files share no labelled id; check that both use the same ids"
        )
    return Agreement(
        percent=100.0 * sum(scores) / len(scores),
        n=len(scores),
        only_first=len(first.keys() - second.keys()),
        only_second=len(second.keys() - first.keys()),
        unlabelled=len(common) - len(scores),
    )
