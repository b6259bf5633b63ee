"""/v1/models, /v1/eval-sets, /v1/mcq-sets: what the service can compare and on what."""

from __future__ import annotations

from fastapi import APIRouter

from common.urls import shown
from service.api.dependencies import ServiceDep
from service.api.schemas import EvalSetView, McqSetView, ModelView

router = APIRouter(tags=["registry"])


@router.get("/models", response_model=list[ModelView])
async def models(service: ServiceDep) -> list[ModelView]:
    """The registered models: the base model and its adapters."""
    registry = service.registry
    return [
        ModelView(
            name=name,
            endpoints=[shown(url) for url in registry.served(name).endpoints],
            adapter=name != registry.base_name,
        )
        for name in registry.names()
    ]


@router.get("/eval-sets", response_model=list[EvalSetView])
async def eval_sets(service: ServiceDep) -> list[EvalSetView]:
    """The registered eval sets and the languages every item has."""
    return [
        EvalSetView(id=s.id, items=len(s.items), languages=s.languages)
        for s in service.eval_sets.values()
    ]


@router.get("/mcq-sets", response_model=list[McqSetView])
async def mcq_sets(service: ServiceDep) -> list[McqSetView]:
    """The registered multiple-choice sets and their languages."""
    return [
        McqSetView(id=name, items=len(s.items), languages=list(s.languages))
        for name, s in service.consistency.sets.items()
    ]
