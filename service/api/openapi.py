"""The OpenAPI schema of this service, with the names it has: a request schema lists the models,
judges and sets the service was started with, so that a request the schema accepts names
only what exists (the names come from the registry and the settings, fixed for the app's life)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI

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
