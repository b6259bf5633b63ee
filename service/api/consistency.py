"""/v1/consistency: cross-lingual consistency of models on a multiple-choice set, as a job."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from service.api.dependencies import ServiceDep, submission_responses
from service.api.schemas import ConsistencyRequest, ConsistencyView
from service.api.views import consistency_view
from service.jobs.consistency import KIND as CONSISTENCY

router = APIRouter(tags=["consistency"])
JOB_LINKS = {
    "GetConsistency": {
        "operationId": "getConsistency",
        "parameters": {"job_id": "$response.body#/id"},
    }
}


@router.post(
    "/consistency",
    response_model=ConsistencyView,
    status_code=status.HTTP_202_ACCEPTED,
    responses=submission_responses(ConsistencyView, JOB_LINKS),
)
async def submit_consistency(
    body: ConsistencyRequest, service: ServiceDep, response: Response
) -> ConsistencyView:
    """Cross-lingual consistency of models on a multiple-choice set; returns the job at once.

    Every model answers every item in every language by option-letter log-probabilities; the
    report holds accuracy, Consistency_s, AC3, pairwise consistency, RA, en-CO and XRR. The
    same request again returns the same job (200); a failed one is resumed.
    """
    job, created = await service.jobs.submit(service.consistency.submission(body))
    if not created:
        response.status_code = status.HTTP_200_OK
    return await consistency_view(service, job)


@router.get("/consistency/{job_id}", response_model=ConsistencyView, operation_id="getConsistency")
async def consistency_job(job_id: str, service: ServiceDep) -> ConsistencyView:
    """Status, progress and (when done) the report of a consistency job."""
    return await consistency_view(service, await service.jobs.find(job_id, CONSISTENCY))
