"""Errors the API answers with: `{error: {type, message, field}}` and a 4xx status."""

from __future__ import annotations


class ApiError(Exception):
    """A request the service cannot serve; `field` names the part of the body at fault."""

    def __init__(self, status: int, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.field = field


def not_found(kind: str, message: str, field: str | None = None) -> ApiError:
    return ApiError(404, kind, message, field)
