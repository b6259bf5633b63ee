"""The FastAPI app: `create_app(settings)` builds every part once (`service.wiring`) and
injects it; the routes live in `service.api`.

Nothing is built at import time; `sxs serve` (service/cli/serve.py) runs it with uvicorn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from service.api import router
from service.api.body_limit import BodyLimit
from service.api.errors import install_error_handlers
from service.api.openapi import docs_router, document_names
from service.api.schemas import ErrorBody
from service.settings import ServiceSettings
from service.wiring import build_service


def create_app(
    settings: ServiceSettings, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """The API app for `settings`; `transport` replaces the network for generators and judges."""
    service = build_service(settings, transport)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.jobs.resume()
        yield
        await service.jobs.shutdown()
        await service.health.aclose()
        for judge in service.judges.values():
            await judge.aclose()

    app = FastAPI(
        title="sxs",
        version="1",
        summary="Side-by-side comparison of LLMs on instruction following, per language.",
        lifespan=lifespan,
        responses={422: {"model": ErrorBody}},
        openapi_url=None,  # served by docs_router: behind the token
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    app.include_router(router)
    app.include_router(docs_router(settings.openapi_public))
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    install_error_handlers(app)
    document_names(app, service)
    return app
