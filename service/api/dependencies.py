"""What every route depends on: the service built by `create_app`, and the bearer token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Header, Request
from pydantic import BaseModel

from service.api.errors import ApiError
from service.api.schemas import ErrorBody
from service.wiring import Service


def get_service(request: Request) -> Service:
    """The parts `create_app` built for this app."""
    service: Service = request.app.state.service
    return service


def authorized(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """401 unless the request carries the service's token (when one is set)."""
    if not get_service(request).token_ok(authorization):
        raise ApiError(401, "unauthorized", "send the service's token as 'Authorization: Bearer …'")


ServiceDep = Annotated[Service, Depends(get_service)]
ERROR_DESCRIPTIONS = {
    400: "the body is not JSON, or not sent as application/json",
    401: "the service's token is missing or wrong",
    404: "no such job, or the request names a model, judge, set, language or item the service "
    "does not have",
    409: "the request's values conflict with each other or with what the service has",
    413: "the body, or the work it asks for, is larger than the service takes",
    422: "the body does not match its schema",
    500: "an internal error (the service log has the details)",
    502: "the judge failed",
    503: "the store cannot be written now, or another process holds its lock (Retry-After "
    "says when to try again)",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI responses for `codes`, each with the error body."""
    return {code: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[code]} for code in codes}


ERRORS = error_responses(401, 404, 409, 413, 422, 500, 503)
BODY_ERRORS = error_responses(400)  # routes that read a body


def submission_responses(
    view: type[BaseModel], links: Mapping[str, object], plan: type[BaseModel] | None = None
) -> dict[int | str, dict[str, object]]:
    """A job submission's answers: 202 for a new job, 200 for one found again (both with the
    job's view and its links) or, where the route plans (`plan`), for a dry run's plan; and
    the errors of a body."""
    found = {"model": view, "description": "the same request already exists", "links": links}
    if plan is not None:
        found |= {
            "model": view | plan,
            "description": "the same request already exists; or, for a dry run, the plan",
        }
    return BODY_ERRORS | {202: {"model": view, "links": links}, 200: found}
