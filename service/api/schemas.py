"""The API's request and response bodies, in one module (documented in the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from judges.statistics import Summary

LANGUAGE = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("is blank; it needs some text")
    return text


Text = Annotated[str, AfterValidator(_not_blank)]


class Strict(BaseModel):
    """Unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    type: str = Field(examples=["unknown_model"])
    message: str = Field(examples=["model 'fr' is not in the registry (known: base, es)"])
    field: str | None = Field(default=None, examples=["model_a"])


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer."""

    error: ErrorDetail


class JudgmentRequest(Strict):
    """Judge two given responses to one instruction, in both orders."""

    instruction: Text = Field(min_length=1, max_length=100_000, examples=["Name a fruit."])
    response_a: str = Field(max_length=100_000, examples=["A banana."])
    response_b: str = Field(max_length=100_000, examples=["I like cars."])
    reference: str | None = Field(
        default=None, max_length=100_000, description="needed by the reference judge"
    )
    judge: str | None = Field(default=None, description="a configured judge; default: theirs")


class CallView(BaseModel):
    """One order's judge call."""

    raw: str
    verdict: str | None
    score_1: float | None = None
    score_2: float | None = None


class JudgmentResponse(BaseModel):
    outcome: str = Field(examples=["win"], description="for A: win, tie, loss or invalid")
    score: float | None = Field(examples=[1.0], description="1 / 0.5 / 0; null when invalid")
    identical: bool
    ab: CallView | None = Field(description="A shown as Answer1; null for identical responses")
    ba: CallView | None
    judge: str
    template: str


class InstructionIn(Strict):
    id: str = Field(min_length=1, max_length=200)
    text: Text = Field(min_length=1, max_length=100_000)
    reference: str | None = Field(default=None, max_length=100_000)


class ComparisonRequest(Strict):
    """Compare two registered models on one language: model A's score against model B."""

    model_a: str = Field(min_length=1, examples=["es"])
    model_b: str = Field(min_length=1, examples=["base"])
    language: str = Field(pattern=LANGUAGE, examples=["es"])
    eval_set: str = Field(default="sample", description="a registered eval set")
    item_ids: list[str] | None = Field(
        default=None, min_length=1, description="a subset of the eval set's items"
    )
    instructions: list[InstructionIn] | None = Field(
        default=None, min_length=1, description="explicit instructions instead of an eval set"
    )
    judge: str | None = None

    @model_validator(mode="after")
    def _sensible(self) -> ComparisonRequest:
        if self.model_a == self.model_b:
            raise ValueError(
                "model_a and model_b are the same model: a model against itself scores 50 "
                "by definition"
            )
        if self.item_ids is not None and self.instructions is not None:
            raise ValueError("give item_ids (a subset of the eval set) or instructions, not both")
        return self


class ConsistencyRequest(Strict):
    """Cross-lingual consistency of models on a parallel multiple-choice set."""

    models: list[str] = Field(min_length=1, max_length=64, examples=[["mono-es", "uniform-p10"]])
    languages: list[Annotated[str, Field(pattern=LANGUAGE)]] | None = Field(
        default=None, min_length=1, description="default: every language of the set"
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


class Progress(BaseModel):
    done: int
    total: int


class ComparisonView(BaseModel):
    id: str
    status: JobStatus
    request: ComparisonRequest
    judge: str
    progress: Progress
    summary: Summary | None = Field(description="model A against model B so far; percentages")
    error: str | None
    created_at: datetime
    updated_at: datetime


class ConsistencyView(BaseModel):
    id: str
    status: JobStatus
    request: ConsistencyRequest
    progress: Progress = Field(description="(model, item) units answered in every language")
    report: dict[str, dict[str, Any]] | None = Field(
        description="per model: accuracy, consistency, ac3, pairwise, …; fractions in [0, 1]"
    )
    error: str | None
    created_at: datetime
    updated_at: datetime


class McqSetView(BaseModel):
    id: str
    items: int
    languages: list[str]


class ItemView(BaseModel):
    item_id: str
    instruction: str
    response_a: str
    response_b: str
    outcome: str
    score: float | None
    ab: CallView | None
    ba: CallView | None


class ItemPage(BaseModel):
    items: list[ItemView]
    offset: int
    limit: int
    total: int


class ModelView(BaseModel):
    name: str
    endpoints: list[str]
    adapter: bool


class EvalSetView(BaseModel):
    id: str
    items: int
    languages: list[str]


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    store: str
    generators: dict[str, str] = Field(description="endpoint → ok or the error")
    judges: dict[str, str] = Field(description="judge → ok, local, or the error")
