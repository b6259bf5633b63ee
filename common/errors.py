"""Errors every package may raise; each message says what is wrong and how to fix it."""

from pydantic import ValidationError


class InputFileError(Exception):
    """An input file is malformed; the message names the file and the line."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


class EndpointError(Exception):
    """An OpenAI-compatible endpoint did not give a usable answer."""


class EndpointUnavailableError(EndpointError):
    """Network errors, timeouts, HTTP 408 / 429 / 5xx or non-JSON bodies on every attempt."""

    def __init__(self, url: str, attempts: int, reason: str) -> None:
        super().__init__(f"{url} failed after {attempts} attempts: {reason}")
        self.url = url
        self.attempts = attempts
        self.reason = reason


class EndpointMalformedError(EndpointUnavailableError):
    """The endpoint answered JSON, but not a usable answer (e.g. a null content), every time."""


class EndpointRejectedError(EndpointError):
    """The endpoint refused the request (HTTP 4xx other than 408 / 429): retrying cannot help."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def first_problem(error: ValidationError, whole: str) -> tuple[str, str]:
    """(where, what) of a validation error's first problem, in words a person can act on.

    `where` is the dotted field path (`whole` when the problem is the object itself); pydantic's
    "Value error, " prefix is dropped from `what`.
    """
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or whole
    return where, str(first["msg"]).removeprefix("Value error, ")
