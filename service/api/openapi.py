"""The OpenAPI schema of this service, with the names it has: a request schema lists the models,
judges and sets the service was started with, so that a request the schema accepts names
only what exists (the names come from the registry and the settings, fixed for the app's life).

Those names are the service's own business: `/openapi.json` and `/docs` ask for the token
like `/v1` does (when one is set), unless `openapi_public` says otherwise."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from service.api.dependencies import authorized
from service.wiring import Service


def document_names(app: FastAPI, service: Service) -> None:
    """Make `app.openapi()` list the service's model, judge and set names as enums."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        components = schema["components"]["schemas"]
        models = service.registry.names()
        judges = list(service.judges)
        for name in ("model_a", "model_b"):
            _restrict(components["ComparisonRequest"]["properties"][name], models)
        _restrict(components["ComparisonRequest"]["properties"]["judge"], judges)
        _restrict(components["ComparisonRequest"]["properties"]["eval_set"], service.eval_sets)
        _restrict(components["JudgmentRequest"]["properties"]["judge"], judges)
        _restrict(components["ConsistencyRequest"]["properties"]["models"]["items"], models)
        sets = list(service.consistency.sets)
        _restrict(components["ConsistencyRequest"]["properties"]["mcq_set"], sets)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _restrict(property_schema: dict[str, Any], names: Iterable[str]) -> None:
    """`enum: names` on the string form of a property (`anyOf` [string, null] included)."""
    for form in property_schema.get("anyOf", [property_schema]):
        if form.get("type") == "string":
            form["enum"] = sorted(names)


def docs_router(public: bool) -> APIRouter:
    """`/openapi.json` and `/docs` (Swagger UI), behind the token unless `public`."""
    router = APIRouter(dependencies=[] if public else [Depends(authorized)])

    @router.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(request.app.openapi())

    @router.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="sxs API")

    return router
