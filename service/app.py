"""The FastAPI app: `create_app(settings)` builds every part once and injects it.

Nothing is built at import time; `sxs serve` (service/serve_command.py) runs it with uvicorn.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from generators.cache import GenerationCache
from generators.registry import Registry, load_registry
from judges.backends.base import Judge
from judges.backends.factory import build_judge
from judges.cache import JudgmentCache
from judges.errors import JudgeError, MissingReferenceError
from judges.prompts import PAPER_TEMPLATE, JudgeTemplate
from service.api.errors import ApiError
from service.jobs.comparisons import Comparisons, EvalSet, load_eval_sets
from service.jobs.consistency import KIND as CONSISTENCY
from service.jobs.consistency import ConsistencyJobs
from service.jobs.errors import NotRegisteredError, RequestError
from service.jobs.manager import COMPARISON, JobManager
from service.jobs.metrics import Metrics
from service.jobs.store import JobStore
from service.settings import ServiceSettings

log = logging.getLogger("sxs.service")


@dataclass
class Service:
    """The parts the routes use, built once per app."""

    settings: ServiceSettings
    registry: Registry
    eval_sets: dict[str, EvalSet]
    judges: dict[str, Judge]
    template: JudgeTemplate
    store: JobStore
    judgment_cache: JudgmentCache
    comparisons: Comparisons
    consistency: ConsistencyJobs
    jobs: JobManager
    metrics: Metrics
    transport: httpx.AsyncBaseTransport | None

    def token_ok(self, header: str | None) -> bool:
        """Whether the Authorization header carries the configured token (constant time)."""
        if self.settings.token is None:
            return True
        expected = f"Bearer {self.settings.token.get_secret_value()}".encode()
        return header is not None and secrets.compare_digest(header.encode(), expected)


def build_service(
    settings: ServiceSettings, transport: httpx.AsyncBaseTransport | None = None
) -> Service:
    """Every part of the service; `transport` replaces the network for generators and judges."""
    registry = load_registry(settings.registry)
    eval_sets = load_eval_sets(settings.eval_sets)
    judges = {name: build_judge(config, transport) for name, config in settings.judges.items()}
    template = (
        JudgeTemplate.from_file(settings.judge_template)
        if settings.judge_template
        else PAPER_TEMPLATE
    )
    store = JobStore(settings.db)
    key = settings.generator_api_key
    generator_key = key.get_secret_value() if key else None
    judgment_cache = JudgmentCache(settings.db)
    metrics = Metrics()
    comparisons = Comparisons(
        registry=registry,
        eval_sets=eval_sets,
        judges=judges,
        default_judge=settings.default_judge,
        template=template,
        store=store,
        generation_cache=GenerationCache(settings.db),
        judgment_cache=judgment_cache,
        parse_attempts=settings.parse_attempts,
        item_concurrency=settings.item_concurrency,
        max_items=settings.max_items_per_job,
        generation_timeout_s=settings.generation_timeout_s,
        generation_retry=settings.generation_retry,
        generator_api_key=generator_key,
        on_item=metrics.item_done,
        transport=transport,
    )
    consistency = ConsistencyJobs(
        api_key=generator_key,
        registry=registry,
        mcq_sets=settings.mcq_sets,
        store=store,
        cache_file=settings.db,
        concurrency=2 * settings.item_concurrency,
        timeout_s=settings.generation_timeout_s,
        retry=settings.generation_retry,
        transport=transport,
    )
    runners = {COMPARISON: comparisons.run_job, CONSISTENCY: consistency.run}
    jobs = JobManager(store, runners, metrics, settings.jobs_in_parallel)
    return Service(
        settings,
        registry,
        eval_sets,
        judges,
        template,
        store,
        judgment_cache,
        comparisons,
        consistency,
        jobs,
        metrics,
        transport,
    )


def create_app(
    settings: ServiceSettings, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """The API app for `settings`."""
    from service.api import routes

    service = build_service(settings, transport)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.jobs.resume()
        yield
        await service.jobs.shutdown()
        for judge in service.judges.values():
            await judge.aclose()

    app = FastAPI(
        title="sxs",
        version="1",
        summary="Side-by-side comparison of LLMs on instruction following, per language.",
        lifespan=lifespan,
        responses={422: {"model": routes.ErrorBody}},
    )
    app.state.service = service
    app.include_router(routes.router)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    _install_error_handlers(app)
    return app


def _error(status: int, kind: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"type": kind, "message": message, "field": field}}, status_code=status
    )


def _install_error_handlers(app: FastAPI) -> None:
    async def api_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiError)
        response = _error(error.status, error.kind, error.message, error.field)
        if error.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    async def unservable(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestError)
        status = 404 if isinstance(error, NotRegisteredError) else 422
        return _error(status, error.kind, error.message, error.field)

    async def invalid(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        first = error.errors()[0]
        location = [str(part) for part in first.get("loc", ()) if part != "body"]
        message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
        field = ".".join(location) or None
        where = f"{field}: " if field else ""
        return _error(422, "invalid_request", f"{where}{message}", field)

    async def http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        return _error(error.status_code, "http_error", str(error.detail))

    async def judge_failed(request: Request, error: Exception) -> JSONResponse:
        if isinstance(error, MissingReferenceError):
            return _error(422, "missing_reference", str(error), "reference")
        return _error(502, "judge_failed", str(error))

    async def internal(request: Request, error: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return _error(500, "internal_error", "internal error; the service log has the details")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestError, unservable)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(JudgeError, judge_failed)
    app.add_exception_handler(Exception, internal)


class BodyLimit:
    """Answers 413 to a request body larger than `max_bytes`, declared or streamed.

    Bodies of POST, PUT and PATCH are read here (up to the limit) and handed on whole.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            parts.append(message.get("body", b""))
            size += len(parts[-1])
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        whole: Message = {"type": "http.request", "body": b"".join(parts), "more_body": False}
        handed = False

        async def replay() -> Message:
            nonlocal handed
            if not handed:
                handed = True
                return whole
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"the request body exceeds {self.max_bytes} bytes; send fewer items per request"
        await _error(413, "body_too_large", message)(scope, receive, send)
