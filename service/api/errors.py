"""The one place the API turns errors into answers: `{error: {type, message, field}}`.

Domain errors keep no HTTP in them; here they get their status: a request the jobs cannot
serve 404 / 422, a judge that fails 502 (a missing reference 422), anything unexpected 500
with the details in the log only.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from judges.errors import JudgeError, MissingReferenceError
from service.jobs.errors import NotRegisteredError, RequestError

log = logging.getLogger("sxs.service")


class ApiError(Exception):
    """An answer only the API gives (401 without the token); `field` names the part at fault."""

    def __init__(self, status: int, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.field = field


def error_response(status: int, kind: str, message: str, field: str | None = None) -> JSONResponse:
    """The error body every 4xx and 5xx answer carries."""
    return JSONResponse(
        {"error": {"type": kind, "message": message, "field": field}}, status_code=status
    )


async def _api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    response = error_response(error.status, error.kind, error.message, error.field)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


async def _unservable(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestError)
    status = 404 if isinstance(error, NotRegisteredError) else 422
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
    return error_response(error.status_code, "http_error", str(error.detail))


async def _judge_failed(request: Request, error: Exception) -> JSONResponse:
    if isinstance(error, MissingReferenceError):
        return error_response(422, "missing_reference", str(error), "reference")
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
    app.add_exception_handler(Exception, _internal)
