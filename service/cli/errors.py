"""The one place the CLI turns errors into a line on stderr and an exit code.

Every command is registered through `command_errors` (service/cli/__init__.py): a command
raises the project's named errors, or `UsageError` / `CommandFailedError` / `StoppedError`
for what only the command line knows, and this table says what each one means:
2 bad input (nothing was run), 1 a backend or the work failed, 130 stopped by Ctrl-C.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from pydantic import ValidationError

from common.errors import InputFileError
from generators.errors import GeneratorError, RegistryError, UnknownModelError
from judges.errors import (
    JudgeDistillationError,
    JudgeError,
    NothingToCompareError,
    TemplateError,
)
from service.batch.errors import BatchInputError, BatchRunError
from service.jobs.errors import RequestError
from service.matrix.client import MatrixError, MatrixInputError
from service.matrix.recipe import RecipeError
from service.settings import SettingsError
from training.errors import TrainingError

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A command-line value the command cannot use; the message names the option."""


class CommandFailedError(Exception):
    """The command ran, and what it made failed in part (the message says where to look)."""


class StoppedError(Exception):
    """Stopped by Ctrl-C; the message says what was kept and how to resume."""


# first match wins: a subclass comes before its base (RegistryError before GeneratorError)
EXIT_CODES: tuple[tuple[tuple[type[BaseException], ...], int], ...] = (
    ((KeyboardInterrupt, StoppedError), EXIT_INTERRUPTED),
    (
        (
            UsageError,
            InputFileError,
            SettingsError,
            RegistryError,
            UnknownModelError,
            TemplateError,
            NothingToCompareError,
            JudgeDistillationError,
            TrainingError,
            RecipeError,
            RequestError,
            MatrixInputError,
            BatchInputError,
        ),
        EXIT_BAD_INPUT,
    ),
    ((CommandFailedError, JudgeError, GeneratorError, MatrixError, BatchRunError), EXIT_FAILED),
)


def exit_code(error: BaseException) -> int | None:
    """The exit code of an error the table knows; None for one it does not (a bug)."""
    for kinds, code in EXIT_CODES:
        if isinstance(error, kinds):
            return code
    return None


def fail(message: str, code: int) -> typer.Exit:
    """Print `error: message` on stderr; the returned Exit is for the caller to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


P = ParamSpec("P")
R = TypeVar("R")


def command_errors(command: Callable[P, R]) -> Callable[P, R]:
    """`command`, with every error of the table printed as one line and its exit code."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except BaseException as error:
            code = exit_code(error)
            if code is None:
                raise
            message = str(error) or "interrupted"
            raise fail(message, code) from None

    return run


def checked(make: Callable[[], R], options: dict[str, str], prefix: str = "") -> R:
    """`make()` (a settings model built from options), or a `UsageError` naming the option of
    its first problem (after `prefix`)."""
    try:
        return make()
    except ValidationError as error:
        raise UsageError(prefix + setting_problem(error, options)) from None


def setting_problem(error: ValidationError, options: dict[str, str]) -> str:
    """The first problem of a settings model, named by its command-line option."""
    first = error.errors()[0]
    # the deepest name: a tagged union puts its tag first ("openai", "base_url")
    field = next((str(part) for part in reversed(first["loc"]) if isinstance(part, str)), "")
    field = field or "settings"
    return f"{options.get(field, field)}: {first['msg']}"
