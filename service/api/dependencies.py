"""What every route depends on: the service built by `create_app`, and the bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

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
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody} for code in (401, 404, 413, 422)
}
