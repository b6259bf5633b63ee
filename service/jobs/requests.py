"""What a job is asked to do: the comparison and consistency requests, validated at the edge
(the API's bodies) and stored with each job; a job's status. No HTTP here."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from common.languages import LANGUAGE_CODE
from judges.language_control import LanguagePolicy

# Some character that is not white space, as JSON Schema (ECMAScript) and Python both read it:
# the class lists every white-space character of either, so the two engines agree exactly.
NOT_BLANK = (
    r"[^\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f"
    r"\u3000\ufeff]"
)


def _not_blank(text: str) -> str:
    if re.search(NOT_BLANK, text) is None:
        raise ValueError("is blank; it needs some text")
    return text


# the schema says what the validator checks
Text = Annotated[str, AfterValidator(_not_blank), Field(json_schema_extra={"pattern": NOT_BLANK})]
UNIQUE: JsonDict = {"uniqueItems": True}
MAX_PANEL = 16


def _panel(judges: list[str]) -> list[str]:
    if len(judges) < 2:
        raise ValueError("a panel needs at least two judges; name a single judge with `judge`")
    repeated = next((judge for judge in judges if judges.count(judge) > 1), None)
    if repeated is not None:
        raise ValueError(f"names judge {repeated!r} twice; each judge votes once")
    return judges


Panel = Annotated[
    list[Annotated[str, Field(min_length=1)]],
    AfterValidator(_panel),
    Field(max_length=MAX_PANEL, json_schema_extra={"minItems": 2, "uniqueItems": True}),
]


def _not_both(first: str, second: str, kinds: tuple[str, str]) -> JsonDict:
    """A schema clause: `first` and `second` are not both given (null counts as absent)."""
    return {
        "not": {
            "required": [first, second],
            "properties": {first: {"type": kinds[0]}, second: {"type": kinds[1]}},
        }
    }


class Strict(BaseModel):
    """Unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class InstructionIn(Strict):
    id: str = Field(min_length=1, max_length=200)
    text: Text = Field(min_length=1, max_length=100_000)
    reference: str | None = Field(default=None, max_length=100_000)


class ComparisonRequest(Strict):
    """Compare two registered models on one language: model A's score against model B."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "allOf": [
                _not_both("item_ids", "instructions", ("array", "array")),
                _not_both("judge", "judges", ("string", "array")),
            ]
        },
    )

    model_a: str = Field(min_length=1, examples=["es"])
    model_b: str = Field(min_length=1, examples=["base"])
    language: str = Field(pattern=LANGUAGE_CODE, examples=["es"])
    eval_set: str = Field(default="sample", description="a registered eval set")
    item_ids: list[str] | None = Field(
        default=None, min_length=1, description="a subset of the eval set's items"
    )
    instructions: list[InstructionIn] | None = Field(
        default=None, min_length=1, description="explicit instructions instead of an eval set"
    )
    judge: str | None = Field(default=None, description="a configured judge; default: theirs")
    judges: Panel | None = Field(
        default=None,
        description="a panel of configured judges instead of one: each order's verdict is the "
        "majority of their valid verdicts, and an order without one makes its pair invalid "
        "(never a tie); the summary has each judge's own score and their kappas",
    )
    language_policy: LanguagePolicy = Field(
        default=LanguagePolicy.OFF_LANGUAGE_LOSES,
        description="off_language_loses: a response not in `language` loses its pair in the "
        "language-controlled score (the raw score is unchanged); none: no language check",
    )
    dry_run: bool = Field(
        default=False,
        description="answer 200 with the plan of the run (generations and judge calls needed "
        "and stored, tokens, price, time) instead of submitting: no job, no model or judge call",
    )

    @model_validator(mode="after")
    def _sensible(self) -> ComparisonRequest:
        if self.item_ids is not None and self.instructions is not None:
            raise ValueError("give item_ids (a subset of the eval set) or instructions, not both")
        if self.judge is not None and self.judges is not None:
            raise ValueError("give judge (one judge) or judges (a panel), not both")
        return self


class ConsistencyRequest(Strict):
    """Cross-lingual consistency of models on a parallel multiple-choice set."""

    models: list[str] = Field(
        min_length=1,
        max_length=64,
        examples=[["mono-es", "uniform-p10"]],
        json_schema_extra=UNIQUE,
    )
    languages: list[Annotated[str, Field(pattern=LANGUAGE_CODE)]] | None = Field(
        default=None,
        min_length=1,
        description="default: every language of the set",
        json_schema_extra=UNIQUE,
    )
    mcq_set: str = Field(default="sample", description="a registered multiple-choice set")
    s: int = Field(default=3, ge=1, le=32, description="subset size of Consistency_s")
    reference_accuracy: float | None = Field(
        default=None, gt=0, le=1, description="A_g of CLiKA's re-scaled accuracy"
    )

    @model_validator(mode="after")
    def _distinct(self) -> ConsistencyRequest:
        for field in ("models", "languages"):
            values = getattr(self, field) or []
            if len(set(values)) != len(values):
                raise ValueError(f"{field} repeat an entry")
        return self


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
