"""`sxs matrix`: an IF score matrix through the service, resumable, with its tables and figures."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from service.cli.console import print_matrix, print_plan, run_matrix_with_progress
from service.cli.errors import CommandFailedError, StoppedError
from service.cli.options import (
    HeatmapOption,
    JudgeOption,
    LanguagePolicyOption,
    PlanJsonOption,
    PlanOption,
    ServerOption,
    TokenOption,
    matrix_recipe,
)
from service.matrix.client import MatrixClient
from service.matrix.recipe import MatrixRecipe
from service.matrix.results import MatrixResults, ScoreKind, save_results
from service.plans.model import MatrixPlan
from service.reports.render import render


def matrix(
    out: Annotated[Path, typer.Option(help="folder for the matrix's files")],
    recipe_file: Annotated[
        Path | None, typer.Option("--recipe", help="a recipe TOML (see recipes/)")
    ] = None,
    rows: Annotated[str | None, typer.Option(help="row models, comma-separated")] = None,
    languages: Annotated[str | None, typer.Option(help="evaluation languages")] = None,
    baselines: Annotated[
        str | None, typer.Option(help="LANG=MODEL,… (the model tuned on LANG)")
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(help="one baseline for every language (e.g. the un-tuned base model)"),
    ] = None,
    eval_set: Annotated[str | None, typer.Option(help="[default: the service's]")] = None,
    judge: JudgeOption = None,
    server: ServerOption = "http://127.0.0.1:8080",
    token: TokenOption = None,
    concurrency: Annotated[int, typer.Option(min=1, help="cells in flight")] = 4,
    language_policy: LanguagePolicyOption = None,
    all_pairs: Annotated[
        bool,
        typer.Option(
            "--all-pairs",
            help="a round robin: every row against every other row in each language, rated "
            "by Bradley–Terry with bootstrap CIs (no baselines)",
        ),
    ] = False,
    heatmaps: HeatmapOption = [ScoreKind.RAW],  # noqa: B006 (typer reads it, never mutates it)
    plan: PlanOption = False,
    as_json: PlanJsonOption = False,
) -> None:
    """An IF score matrix: each row model against each language's baseline (or against one
    --reference in every language), in that language.

    Writes matrix.json (everything), matrix.csv (one line per cell), scores.csv, matrix.md
    (raw, length- and language-controlled scores), ratings.md and the figures into OUT.
    Interrupted, it resumes when run again. With --plan, only what it would do (generations
    and judge calls needed and stored, tokens, price, time) per cell: no job, no call.
    """
    recipe = matrix_recipe(
        recipe_file,
        rows,
        languages,
        baselines,
        eval_set,
        judge,
        reference,
        language_policy,
        all_pairs,
    )
    client = MatrixClient(server, token=token, concurrency=concurrency)
    if plan:
        print_plan(asyncio.run(_plan(client, recipe)), as_json)
        return
    console = Console(stderr=True)
    try:
        results = asyncio.run(run_matrix_with_progress(client, recipe, console))
    except KeyboardInterrupt:
        partial = list(client.finished.values())
        if partial:
            save_results(MatrixResults(recipe=recipe, cells=partial), out)
        raise StoppedError(
            f"interrupted; {sum(not c.diagonal for c in partial)} finished cells saved in {out}; "
            "the service keeps the rest: run the same command again to resume"
        ) from None
    written = render(results, out, heatmaps)
    print_matrix(results)
    typer.echo("files: " + ", ".join(str(path) for path in written))
    missing = results.missing()
    if missing:
        first = missing[0]
        raise CommandFailedError(
            f"{len(missing)} cells failed (e.g. {first.row} · {first.language}: {first.error}); "
            "fix the cause and run the same command again"
        )


async def _plan(client: MatrixClient, recipe: MatrixRecipe) -> MatrixPlan:
    try:
        return await client.plan(recipe)
    finally:
        await client.aclose()
