"""The pairs to judge: an instruction and two responses, read from JSONL."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from common.errors import InputFileError
from common.jsonl import read_models


class Pair(BaseModel):
    """One comparison: is `response_a` better than `response_b` for `instruction`?

    `reference` is needed only by the reference judge.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(default="", description="unique within a file; the line number if absent")
    instruction: str = Field(min_length=1)
    response_a: str
    response_b: str
    language: str | None = None
    reference: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    @field_validator("instruction")
    @classmethod
    def _instruction_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is empty; every pair needs an instruction")
        return value

    @property
    def empty_a(self) -> bool:
        """Whether response A is empty (nothing but whitespace)."""
        return not self.response_a.strip()

    @property
    def empty_b(self) -> bool:
        """Whether response B is empty (nothing but whitespace)."""
        return not self.response_b.strip()

    @property
    def identical(self) -> bool:
        """Identical responses (up to surrounding whitespace) are a tie by definition."""
        return self.response_a.strip() == self.response_b.strip()


def read_pairs(path: Path, *, allow_empty: bool = False) -> list[Pair]:
    """All pairs of a JSONL file; ids default to line numbers and must be unique.

    An empty response is an error naming its line unless `allow_empty` (in a file it is
    usually a broken export); admitted, it is judged as `judges.sxs` says.
    """
    pairs: list[Pair] = []
    seen: dict[str, int] = {}
    for number, pair in read_models(path, Pair):
        for name, empty in (("response_a", pair.empty_a), ("response_b", pair.empty_b)):
            if not allow_empty and empty:
                problem = (
                    f"field {name!r} is empty; fix or drop the line, or pass --allow-empty "
                    "to judge empty responses as they are"
                )
                raise InputFileError(str(path), number, problem)
        if not pair.id:
            pair = pair.model_copy(update={"id": str(number)})
        if pair.id in seen:
            problem = f"id {pair.id!r} repeats line {seen[pair.id]}; ids must be unique"
            raise InputFileError(str(path), number, problem)
        seen[pair.id] = number
        pairs.append(pair)
    return pairs
