"""The HTTP API: the only FastAPI importer. One thin router per resource, the schemas, the
dependencies, and the one place that turns errors into answers (`errors`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from service.api import comparisons, consistency, operations, registry
from service.api.dependencies import ERRORS, authorized

v1 = APIRouter(prefix="/v1", dependencies=[Depends(authorized)], responses=ERRORS)
for resource in (comparisons, registry, consistency):
    v1.include_router(resource.router)
v1.include_router(operations.checks)

router = APIRouter()
router.include_router(operations.router)
router.include_router(v1)
