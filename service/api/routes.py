"""The API's routes: thin; the work happens in the parts `create_app` built."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Header, Query, Request, Response, status

from judges.backends.openai import OpenAIJudge
from judges.pairs import Pair
from judges.results import result_record
from judges.statistics import Summary
from judges.sxs import SideBySide
from service.api.errors import ApiError, not_found
from service.api.schemas import (
    CallView,
    ComparisonRequest,
    ComparisonView,
    ConsistencyRequest,
    ConsistencyView,
    ErrorBody,
    EvalSetView,
    Health,
    ItemPage,
    ItemView,
    JudgmentRequest,
    JudgmentResponse,
    McqSetView,
    ModelView,
    Progress,
)
from service.app import Service
from service.jobs.consistency import KIND as CONSISTENCY
from service.jobs.manager import COMPARISON, job_kind
from service.jobs.store import Job

__all__ = ["ErrorBody", "router"]


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def authorized(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    if not get_service(request).token_ok(authorization):
        raise ApiError(401, "unauthorized", "send the service's token as 'Authorization: Bearer …'")


ServiceDep = Annotated[Service, Depends(get_service)]
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody} for code in (401, 404, 413, 422)
}
router = APIRouter()
v1 = APIRouter(prefix="/v1", dependencies=[Depends(authorized)], responses=ERRORS)


@v1.post("/judgments", response_model=JudgmentResponse, tags=["judgments"])
async def judge_pair(body: JudgmentRequest, service: ServiceDep) -> JudgmentResponse:
    """Judge two given responses in both orders, now; the result is stored and reused."""
    name = service.comparisons.judge_name(body.judge)
    pair = Pair(
        id="request",
        instruction=body.instruction,
        response_a=body.response_a,
        response_b=body.response_b,
        reference=body.reference,
    )
    sxs = SideBySide(
        service.judges[name],
        template=service.template,
        cache=service.judgment_cache,
        parse_attempts=service.settings.parse_attempts,
        flush_every=1,
    )
    (result,) = await sxs.run([pair])
    record = result_record(result)
    return JudgmentResponse(
        outcome=record["outcome"],
        score=record["score"],
        identical=record["identical"],
        ab=_call(record["ab"]),
        ba=_call(record["ba"]),
        judge=name,
        template=service.template.hash,
    )


@v1.post(
    "/comparisons",
    response_model=ComparisonView,
    status_code=status.HTTP_202_ACCEPTED,
    tags=["comparisons"],
    responses={200: {"model": ComparisonView, "description": "the same request already exists"}},
)
async def submit(
    body: ComparisonRequest, service: ServiceDep, response: Response
) -> ComparisonView:
    """Compare model A with model B on one language; returns the job at once.

    The same request again returns the same job (200); a failed or cancelled one is resumed.
    """
    judge = service.comparisons.judge_name(body.judge)
    items = service.comparisons.items(body)
    request = body.model_dump(mode="json")
    version = service.template.hash + service.comparisons.content_digest(body)
    job_id = _submit(service, response, request, judge, version, len(items))
    return _view(service, _job(service, job_id))


@v1.get("/comparisons/{job_id}", response_model=ComparisonView, tags=["comparisons"])
async def comparison(job_id: str, service: ServiceDep) -> ComparisonView:
    """Status, progress and the score so far (with its 95% CI) of a comparison."""
    return _view(service, _job(service, job_id))


@v1.get("/comparisons/{job_id}/items", response_model=ItemPage, tags=["comparisons"])
async def comparison_items(
    job_id: str,
    service: ServiceDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ItemPage:
    """Finished items in eval-set order: both responses, both verdicts, the outcome."""
    job = _job(service, job_id)
    records = service.store.items(job.id, offset, limit)
    items = [
        ItemView(
            item_id=r["id"],
            instruction=r["instruction"],
            response_a=r["response_a"],
            response_b=r["response_b"],
            outcome=r["outcome"],
            score=r["score"],
            ab=_call(r["ab"]),
            ba=_call(r["ba"]),
        )
        for r in records
    ]
    return ItemPage(items=items, offset=offset, limit=limit, total=job.done)


@v1.delete("/comparisons/{job_id}", response_model=ComparisonView, tags=["comparisons"])
async def cancel(job_id: str, service: ServiceDep) -> ComparisonView:
    """Cancel a comparison; its finished items stay, and resubmitting resumes it."""
    _job(service, job_id)
    await service.jobs.cancel(job_id)
    return _view(service, _job(service, job_id))


@v1.get("/models", response_model=list[ModelView], tags=["registry"])
async def models(service: ServiceDep) -> list[ModelView]:
    """The registered models: the base model and its adapters."""
    registry = service.registry
    return [
        ModelView(
            name=name,
            endpoints=list(registry.served(name).endpoints),
            adapter=name != registry.base_name,
        )
        for name in registry.names()
    ]


@v1.get("/eval-sets", response_model=list[EvalSetView], tags=["registry"])
async def eval_sets(service: ServiceDep) -> list[EvalSetView]:
    """The registered eval sets and the languages every item has."""
    return [
        EvalSetView(id=s.id, items=len(s.items), languages=s.languages)
        for s in service.eval_sets.values()
    ]


@v1.get("/mcq-sets", response_model=list[McqSetView], tags=["registry"])
async def mcq_sets(service: ServiceDep) -> list[McqSetView]:
    """The registered multiple-choice sets and their languages."""
    return [
        McqSetView(id=name, items=len(s.items), languages=list(s.languages))
        for name, s in service.consistency.sets.items()
    ]


@v1.post(
    "/consistency",
    response_model=ConsistencyView,
    status_code=status.HTTP_202_ACCEPTED,
    tags=["consistency"],
    responses={200: {"model": ConsistencyView, "description": "the same request already exists"}},
)
async def submit_consistency(
    body: ConsistencyRequest, service: ServiceDep, response: Response
) -> ConsistencyView:
    """Cross-lingual consistency of models on a multiple-choice set; returns the job at once.

    Every model answers every item in every language by option-letter log-probabilities; the
    report holds accuracy, Consistency_s, AC3, pairwise consistency, RA, en-CO and XRR. The
    same request again returns the same job (200); a failed one is resumed.
    """
    _, _, units = service.consistency.check(body)
    request = {"kind": CONSISTENCY, "request": body.model_dump(mode="json")}
    digest = service.consistency.digests[body.mcq_set]
    job_id = _submit(service, response, request, "", digest, units)
    return _consistency_view(service, _job(service, job_id, CONSISTENCY))


@v1.get("/consistency/{job_id}", response_model=ConsistencyView, tags=["consistency"])
async def consistency_job(job_id: str, service: ServiceDep) -> ConsistencyView:
    """Status, progress and (when done) the report of a consistency job."""
    return _consistency_view(service, _job(service, job_id, CONSISTENCY))


@router.get("/healthz", response_model=Health, tags=["operations"])
async def healthz(service: ServiceDep) -> Health:
    """Whether the store, the generator endpoints and the judges answer."""
    try:
        service.store.ping()
        store = "ok"
    except Exception as error:  # the store is what health is about: report, don't raise
        store = f"error: {error}"
    endpoints = sorted(
        {u for n in service.registry.names() for u in service.registry.served(n).endpoints}
    )
    generators = {url: await _probe(url, service) for url in endpoints}
    judges = {
        name: await _probe(judge.config.base_url, service)
        if isinstance(judge, OpenAIJudge)
        else "local"
        for name, judge in service.judges.items()
    }
    healthy = store == "ok" and all(
        v in ("ok", "local") for v in [*generators.values(), *judges.values()]
    )
    return Health(
        status="ok" if healthy else "degraded", store=store, generators=generators, judges=judges
    )


@router.get("/metrics", tags=["operations"], response_class=Response)
async def metrics(service: ServiceDep) -> Response:
    """Prometheus metrics: jobs, finished items (rate: items/s), backend errors, cache hits."""
    return Response(service.metrics.exposition(), media_type="text/plain; version=0.0.4")


router.include_router(v1)


async def _probe(base_url: str, service: Service) -> str:
    try:
        async with httpx.AsyncClient(timeout=2.0, transport=service.transport) as client:
            response = await client.get(base_url.rstrip("/") + "/models")
        return "ok" if response.status_code == 200 else f"HTTP {response.status_code}"
    except httpx.HTTPError as error:
        return f"unreachable: {type(error).__name__}"


def _submit(
    service: Service,
    response: Response,
    request: dict[str, Any],
    judge: str,
    template_hash: str,
    total: int,
) -> str:
    """Create the job (202) or find it again (200; a failed or cancelled one is requeued),
    and start it; its id."""
    job_id = service.store.job_id(request, judge, template_hash)
    if service.store.submit(job_id, request, judge, total):
        service.metrics.jobs_submitted.inc()
    else:
        response.status_code = status.HTTP_200_OK
    service.jobs.launch(job_id)
    return job_id


def _job(service: Service, job_id: str, kind: str = COMPARISON) -> Job:
    job = service.store.get(job_id)
    if job is None or job_kind(job) != kind:
        raise not_found(f"unknown_{kind}", f"no {kind} job {job_id!r}", "id")
    return job


def _call(call: dict[str, object] | None) -> CallView | None:
    return None if call is None else CallView.model_validate(call)


def _consistency_view(service: Service, job: Job) -> ConsistencyView:
    report = job.summary
    if report is None and job.done == job.total and job.total:
        report = service.consistency.report(job)
    return ConsistencyView(
        id=job.id,
        status=job.status,
        request=ConsistencyRequest.model_validate(job.request["request"]),
        progress=Progress(done=job.done, total=job.total),
        report=report,
        error=job.error,
        created_at=datetime.fromtimestamp(job.created_at, UTC),
        updated_at=datetime.fromtimestamp(job.updated_at, UTC),
    )


def _view(service: Service, job: Job) -> ComparisonView:
    summary = job.summary
    if summary is None and job.done:
        summary = service.comparisons.summary(job.id).as_dict()
    return ComparisonView(
        id=job.id,
        status=job.status,
        request=ComparisonRequest.model_validate(job.request),
        judge=job.judge,
        progress=Progress(done=job.done, total=job.total),
        summary=Summary(**summary) if summary else None,
        error=job.error,
        created_at=datetime.fromtimestamp(job.created_at, UTC),
        updated_at=datetime.fromtimestamp(job.updated_at, UTC),
    )
