"""The API's request and response bodies, in one module (documented in the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from judges.statistics import Summary
from service.jobs.requests import (
    ComparisonRequest,
    ConsistencyRequest,
    InstructionIn,
    JobStatus,
    Strict,
    Text,
)

__all__ = [
    "CallView",
    "ComparisonRequest",
    "ComparisonView",
    "ConsistencyRequest",
    "ConsistencyView",
    "ErrorBody",
    "EvalSetView",
    "Health",
    "InstructionIn",
    "ItemPage",
    "ItemView",
    "JobStatus",
    "JudgmentRequest",
    "JudgmentResponse",
    "Liveness",
    "McqSetView",
    "ModelView",
    "Progress",
    "VoteView",
]


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
    prompt_tokens: int | None = Field(default=None, description="as the judge's API reported")
    completion_tokens: int | None = None


class JudgmentResponse(BaseModel):
    outcome: str = Field(examples=["win"], description="for A: win, tie, loss or invalid")
    score: float | None = Field(examples=[1.0], description="1 / 0.5 / 0; null when invalid")
    identical: bool
    ab: CallView | None = Field(description="A shown as Answer1; null for identical responses")
    ba: CallView | None
    judge: str
    template: str


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
    warning: str | None = Field(
        default=None,
        description="what a reader must know of a finished job: no valid verdict, or a score "
        "resting on fewer than half of its pairs",
    )
    waiting_on: list[str] = Field(
        default_factory=list,
        description="while it runs: the judge batches it waits on, with their status",
    )
    judge_cost: float | None = Field(
        default=None,
        description="the judge tokens of summary.usage priced with the judges' configured "
        "prices (per million tokens); null when a judge has no prices",
    )
    judge_cost_partial: bool = Field(
        default=False,
        description="true when some replies reported no usage (summary.usage.unreported): "
        "judge_cost prices the others only, a lower bound",
    )
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


class VoteView(BaseModel):
    """One panel judge's outcome for A and its two calls."""

    outcome: str
    ab: CallView | None
    ba: CallView | None


class ItemView(BaseModel):
    item_id: str
    instruction: str
    response_a: str
    response_b: str
    outcome: str
    score: float | None
    ab: CallView | None = Field(description="null for identical responses, and for a panel")
    ba: CallView | None
    panel: dict[str, VoteView] | None = Field(
        default=None, description="a panel's votes by judge; the outcome is their majority's"
    )


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


class Liveness(BaseModel):
    status: str = Field(examples=["ok"], description="ok, or degraded when the store fails")
    store: str


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    store: str
    generators: dict[str, str] = Field(description="endpoint → ok or the error")
    judges: dict[str, str] = Field(
        description="judge → ok (it answered one token), local, or the error"
    )
