"""/v1/judgments and /v1/comparisons: judge given responses now, or compare two models as a
durable job."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from judges.results import RecordedPair, result_record
from service.api.dependencies import (
    BODY_ERRORS,
    ServiceDep,
    error_responses,
    submission_responses,
)
from service.api.schemas import (
    ComparisonRequest,
    ComparisonView,
    ItemPage,
    JudgmentRequest,
    JudgmentResponse,
)
from service.api.views import call_view, comparison_view, item_view
from service.plans.model import RunPlan

router = APIRouter()
MAX_OFFSET = 2**31  # SQLite takes 64-bit integers; no comparison has this many items
COMPARISONS: list[str | Enum] = ["comparisons"]
# OpenAPI links: what a client (and a stateful tester) can do with a submitted job's id
JOB_LINKS = {
    name: {"operationId": operation, "parameters": {"job_id": "$response.body#/id"}}
    for name, operation in (
        ("GetComparison", "getComparison"),
        ("GetComparisonItems", "getComparisonItems"),
        ("CancelComparison", "cancelComparison"),
    )
}


@router.post(
    "/judgments",
    response_model=JudgmentResponse,
    tags=["judgments"],
    responses=BODY_ERRORS | error_responses(502),
)
async def judge_pair(body: JudgmentRequest, service: ServiceDep) -> JudgmentResponse:
    """Judge two given responses in both orders, now; the result is stored and reused."""
    name, result = await service.comparisons.judge_given(
        body.judge, body.instruction, body.response_a, body.response_b, body.reference
    )
    recorded = RecordedPair.model_validate(result_record(result))
    return JudgmentResponse(
        outcome=recorded.outcome.value,
        score=recorded.outcome.score,
        identical=recorded.identical,
        ab=call_view(recorded.ab),
        ba=call_view(recorded.ba),
        judge=name,
        template=service.template.hash,
    )


@router.post(
    "/comparisons",
    response_model=ComparisonView | RunPlan,
    status_code=status.HTTP_202_ACCEPTED,
    tags=COMPARISONS,
    responses=submission_responses(ComparisonView, JOB_LINKS, plan=RunPlan),
)
async def submit(
    body: ComparisonRequest, service: ServiceDep, response: Response
) -> ComparisonView | RunPlan:
    """Compare model A with model B on one language; returns the job at once.

    The same request again returns the same job (200); a failed or cancelled one is resumed.
    With `"dry_run": true`, the plan of the run instead (200): no job, no model or judge call.
    """
    if body.dry_run:
        response.status_code = status.HTTP_200_OK
        return await service.plan(body)
    job, created = await service.jobs.submit(service.comparisons.submission(body))
    if not created:
        response.status_code = status.HTTP_200_OK
    return await comparison_view(service, job)


@router.get(
    "/comparisons/{job_id}",
    response_model=ComparisonView,
    tags=COMPARISONS,
    operation_id="getComparison",
)
async def comparison(job_id: str, service: ServiceDep) -> ComparisonView:
    """Status, progress and the score so far (with its 95% CI) of a comparison."""
    return await comparison_view(service, await service.jobs.find(job_id))


@router.get(
    "/comparisons/{job_id}/items",
    response_model=ItemPage,
    tags=COMPARISONS,
    operation_id="getComparisonItems",
)
async def comparison_items(
    job_id: str,
    service: ServiceDep,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ItemPage:
    """Finished items in eval-set order: both responses, both verdicts, the outcome."""
    job = await service.jobs.find(job_id)
    items = await service.comparisons.stored_items(job.id, offset, limit)
    return ItemPage(items=[item_view(i) for i in items], offset=offset, limit=limit, total=job.done)


@router.delete(
    "/comparisons/{job_id}",
    response_model=ComparisonView,
    tags=COMPARISONS,
    operation_id="cancelComparison",
)
async def cancel(job_id: str, service: ServiceDep) -> ComparisonView:
    """Cancel a comparison; its finished items stay, and resubmitting resumes it."""
    await service.jobs.find(job_id)
    await service.jobs.cancel(job_id)
    return await comparison_view(service, await service.jobs.find(job_id))
