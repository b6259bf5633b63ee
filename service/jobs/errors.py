"""Requests the service cannot serve, as named errors of the job side (no HTTP in them).

Three kinds, so that a request the schema accepts is refused only for what the schema cannot
know: it names something the service does not have (`NotRegisteredError`: a model, judge,
set, language of a set, item or job), or it conflicts with what the service has
(`ConflictingRequestError`: repeated instruction ids, s larger than the set's languages, a
reference accuracy at chance), or it asks for more than a limit (`TooLargeRequestError`).
The API answers them 404 / 409 / 413 with `{error: {type, message, field}}`
(`service.api.errors`); a job that meets one when it is resumed (a model removed from the
registry, an eval set gone) fails with the same message a new request would get.
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
    """The request names something the service does not have (the API's 404)."""


class ConflictingRequestError(RequestError):
    """The request's values conflict with each other or with what the service has (409)."""


class TooLargeRequestError(RequestError):
    """The request asks for more than the service's limit (413)."""
