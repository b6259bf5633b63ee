"""`sxs compare`: one cell, MODEL_A's IF score against MODEL_B in one language."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from service.cli.console import print_cell, run_matrix_with_progress
from service.cli.errors import CommandFailedError, StoppedError
from service.cli.options import (
    JudgeOption,
    LanguagePolicyOption,
    ServerOption,
    TokenOption,
    judge_fields,
)
from service.matrix.client import MatrixClient
from service.matrix.recipe import validate_recipe


def compare(
    model_a: Annotated[str, typer.Argument(help="the model scored")],
    model_b: Annotated[str, typer.Argument(help="the baseline it is scored against")],
    language: Annotated[str, typer.Option("--language", "-l", help="the language compared in")],
    eval_set: Annotated[str | None, typer.Option(help="[default: the service's]")] = None,
    judge: JudgeOption = None,
    language_policy: LanguagePolicyOption = None,
    server: ServerOption = "http://127.0.0.1:8080",
    token: TokenOption = None,
) -> None:
    """One cell: MODEL_A's IF score against MODEL_B in one language, as a table."""
    cell_recipe = {
        "rows": [model_a],
        "languages": [language],
        "baselines": {language: model_b},
        "eval_set": eval_set,
        "language_policy": language_policy,
    } | judge_fields(judge)
    recipe = validate_recipe(cell_recipe, "the arguments")
    client = MatrixClient(server, token=token, concurrency=1)
    try:
        results = asyncio.run(run_matrix_with_progress(client, recipe, Console(stderr=True)))
    except KeyboardInterrupt:
        raise StoppedError("interrupted; run it again to resume") from None
    cell = results.cells[0]
    print_cell(cell)
    if cell.score is None:
        raise CommandFailedError(f"the comparison failed: {cell.error}")
