"""Requests the service cannot serve, as named errors of the job side (no HTTP in them).

The API answers them 404 / 422 with `{error: {type, message, field}}` (`service.app`); a job
that meets one when it is resumed (a model removed from the registry, an eval set gone) fails
with the same message a new request would get.
"""

from __future__ import annotations


class RequestError(Exception):
    """A request the registry, the sets or the judges cannot serve; `kind` is a stable code,
    `field` the part of the request at fault."""

    def __init__(self, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.field = field


class NotRegisteredError(RequestError):
    """The request names a set or a job the service does not have (the API's 404)."""


class UnservableRequestError(RequestError):
    """The request is well formed but cannot be served as asked (the API's 422)."""


class ConsistencyRequestError(UnservableRequestError):
    """A consistency run the set cannot satisfy (a language it lacks, s too large, A_g at or
    below chance); the message names the value."""

    def __init__(self, message: str) -> None:
        super().__init__("bad_request", message, "languages")
