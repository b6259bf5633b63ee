"""Parallel instruction sets: one item id, its instruction and response in every language.

    {"id": "17", "instruction": {"en": "…", "fi": "…"}, "response": {"en": "…", "fi": "…"}}

Every record must hold the same languages; a record missing one is an error naming the id
and the language.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from common.errors import InputFileError
from common.jsonl import read_models


class ParallelRecord(BaseModel):
    """One example in every language of the set."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    instruction: dict[str, str] = Field(min_length=1)
    response: dict[str, str] = Field(min_length=1)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _aligned(self) -> ParallelRecord:
        if set(self.instruction) != set(self.response):
            odd = sorted(set(self.instruction) ^ set(self.response))
            raise ValueError(f"instruction and response languages differ ({', '.join(odd)})")
        return self


@dataclass(frozen=True)
class ParallelSet:
    """Aligned records and the languages all of them have."""

    records: list[ParallelRecord]
    languages: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.records)


def read_parallel(path: Path) -> ParallelSet:
    """A parallel JSONL file, checked for unique ids and aligned languages."""
    rows = read_models(path, ParallelRecord)
    expected = set(rows[0][1].instruction)
    seen: dict[str, int] = {}
    for number, record in rows:
        if record.id in seen:
            raise InputFileError(
                str(path), number, f"id {record.id!r} repeats line {seen[record.id]}"
            )
        seen[record.id] = number
        have = set(record.instruction)
        if have != expected:
            odd = sorted(expected - have) or sorted(have - expected)
            state = "missing" if expected - have else "extra"
            first = ", ".join(sorted(expected))
            problem = f"id {record.id!r} is not aligned: language {odd[0]!r} is {state} "
            raise InputFileError(str(path), number, problem + f"(line 1 has {first})")
    return ParallelSet([record for _, record in rows], tuple(sorted(expected)))
