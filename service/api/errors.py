"""The one place the API turns errors into answers: `{error: {type, message, field}}`.

Domain errors keep no HTTP in them; here they get their status. A body that does not match
its schema is 422; a schema-valid request is refused only for what the schema cannot know:
it names something the service does not have (404), it conflicts with itself or with what
the service has (409; a pair without the reference its judge needs), or it asks for more
than a limit (413). A store that cannot be written (full, broken: `store_unavailable`) or
that another connection keeps locked (`store_busy`) is 503 with `Retry-After`. A judge that
fails is 502, anything unexpected 500 with the details in the log only; a method a path does
not document is 405 with `Allow`.
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.store import StoreBusyError, StoreWriteError
from judges.errors import JudgeError, MissingReferenceError
from service.jobs.errors import (
    ConflictingRequestError,
    NotRegisteredError,
    RequestError,
    TooLargeRequestError,
)

log = logging.getLogger("sxs.service")


class ApiError(Exception):
    """An answer only the API gives (401 without the token); `field` names the part at fault."""

    def __init__(self, status: int, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.field = field


def error_response(
    status: int,
    kind: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The error body every 4xx and 5xx answer carries."""
    body = {"error": {"type": kind, "message": message, "field": field}}
    return JSONResponse(body, status_code=status, headers=headers)


async def _api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    response = error_response(error.status, error.kind, error.message, error.field)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


REQUEST_ERROR_STATUS = (
    (NotRegisteredError, 404),
    (ConflictingRequestError, 409),
    (TooLargeRequestError, 413),
)


async def _unservable(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestError)
    status = next((code for kind, code in REQUEST_ERROR_STATUS if isinstance(error, kind)), 422)
    return error_response(status, error.kind, error.message, error.field)


async def _invalid(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0]
    location = [str(part) for part in first.get("loc", ()) if part != "body"]
    message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    field = ".".join(location) or None
    where = f"{field}: " if field else ""
    return error_response(422, "invalid_request", f"{where}{message}", field)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 405:  # every method the path has, not only its first route's
        allowed = ", ".join(_allowed_methods(request))
        message = f"{request.method} is not a method of {request.url.path}; it takes {allowed}"
        return error_response(405, "method_not_allowed", message, headers={"Allow": allowed})
    response = error_response(error.status_code, "http_error", str(error.detail))
    response.headers.update(error.headers or {})
    return response


def _allowed_methods(request: Request) -> list[str]:
    """The methods the OpenAPI schema documents for the request's path."""
    path = request.url.path
    for template, operations in request.app.openapi()["paths"].items():
        parts = re.split(r"(\{[^}]+\})", template)
        pattern = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        if re.fullmatch(pattern, path):
            return sorted(method.upper() for method in operations if method != "parameters")
    return []


async def _store_unwritable(request: Request, error: Exception) -> JSONResponse:
    message = f"{error}; try again once the store can be written"
    return error_response(503, "store_unavailable", message, headers={"Retry-After": "30"})


async def _store_busy(request: Request, error: Exception) -> JSONResponse:
    message = f"{error}; another process is writing to the store, try again shortly"
    return error_response(503, "store_busy", message, headers={"Retry-After": "5"})


async def _judge_failed(request: Request, error: Exception) -> JSONResponse:
    if isinstance(error, MissingReferenceError):  # the request conflicts with its judge
        return error_response(409, "missing_reference", str(error), "reference")
    return error_response(502, "judge_failed", str(error))


async def _internal(request: Request, error: Exception) -> JSONResponse:
    log.error("%s %s failed", request.method, request.url.path, exc_info=error)
    return error_response(500, "internal_error", "internal error; the service log has the details")


def install_error_handlers(app: FastAPI) -> None:
    """Every translation of an error into an answer, on `app`."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestError, _unservable)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(JudgeError, _judge_failed)
    app.add_exception_handler(StoreWriteError, _store_unwritable)
    app.add_exception_handler(StoreBusyError, _store_busy)
    app.add_exception_handler(Exception, _internal)
