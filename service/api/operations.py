"""/healthz and /metrics, outside /v1 and without the token, for probes and scrapers."""

from __future__ import annotations

from fastapi import APIRouter, Response

from service.api.dependencies import ServiceDep, error_responses
from service.api.schemas import Health
from service.jobs.health import check_health

router = APIRouter(tags=["operations"], responses=error_responses(500))


@router.get("/healthz", response_model=Health)
async def healthz(service: ServiceDep) -> Health:
    """Whether the store, the generator endpoints and the judges answer."""
    report = await check_health(service.store, service.registry, service.judges, service.transport)
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
