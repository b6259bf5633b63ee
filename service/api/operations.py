"""/healthz and /metrics, outside /v1 and without the token, for probes and scrapers; and
/v1/health, the backend check behind the token (it makes outbound calls)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from service.api.dependencies import ServiceDep, error_responses
from service.api.schemas import Health, Liveness
from service.jobs.health import OK, liveness

router = APIRouter(tags=["operations"], responses=error_responses(500))
checks = APIRouter(tags=["operations"])  # mounted under /v1, behind the token


@router.get("/healthz", response_model=Liveness)
async def healthz(service: ServiceDep) -> Liveness:
    """Liveness: the service answers and its store answers a query. Cheap: no backend call
    (the backends: `GET /v1/health`)."""
    store = await liveness(service.store)
    return Liveness(status="ok" if store == OK else "degraded", store=store)


@checks.get("/health", response_model=Health)
async def health(service: ServiceDep) -> Health:
    """Whether the store, every generator endpoint (it lists the models the registry serves
    from it) and every judge (it answers one token) answer; probed at most every
    `health_cache_s` seconds, the report cached in between."""
    report = await service.health.backends()
    return Health(
        status="ok" if report.healthy else "degraded",
        store=report.store,
        generators=report.generators,
        judges=report.judges,
    )


@router.get("/metrics", response_class=Response)
async def metrics(service: ServiceDep) -> Response:
    """Prometheus metrics: jobs, finished items (rate: items/s), backend errors, cache hits."""
    return Response(service.metrics.exposition(), media_type="text/plain; version=0.0.4")
