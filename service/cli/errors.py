"""Turning the project's named errors into one-line CLI messages and exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError

from common.errors import InputFileError
from generators.errors import GeneratorError, RegistryError, UnknownModelError
from judges.errors import JudgeError, NothingToCompareError, TemplateError
from training.mixtures import MixtureError

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130
_INPUT_ERRORS = (
    InputFileError,
    TemplateError,
    NothingToCompareError,
    RegistryError,
    UnknownModelError,
    MixtureError,
)


def fail(message: str, code: int) -> typer.Exit:
    """Print `error: message` on stderr; the returned Exit is for the caller to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def setting_problem(error: ValidationError, options: dict[str, str]) -> str:
    """The first problem of a settings model, named by its command-line option."""
    first = error.errors()[0]
    # the deepest name: a tagged union puts its tag first ("openai", "base_url")
    field = next((str(part) for part in reversed(first["loc"]) if isinstance(part, str)), "")
    field = field or "settings"
    return f"{options.get(field, field)}: {first['msg']}"


@contextmanager
def user_errors() -> Iterator[None]:
    """Bad input exits 2, a failed backend exits 1, Ctrl-C 130, each with one line on stderr."""
    try:
        yield
    except KeyboardInterrupt:
        raise fail("interrupted", EXIT_INTERRUPTED) from None
    except _INPUT_ERRORS as error:
        raise fail(str(error), EXIT_BAD_INPUT) from None
    except (JudgeError, GeneratorError) as error:
        raise fail(str(error), EXIT_FAILED) from None
