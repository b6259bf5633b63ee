"""`sxs demo`: the whole pipeline on the CPU default, into one output folder."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from common.lists import comma_list
from service.cli.console import print_matrix
from service.cli.errors import CommandFailedError
from service.demo import (
    JUDGE_NOTE,
    DemoPlan,
    comparison_service,
    generator_engine,
    own_language_wins,
    prepare_models,
    recipe_for,
    write_eval_set,
)
from service.matrix.client import MatrixClient
from service.matrix.recipe import MatrixRecipe, save_recipe
from service.matrix.results import Cell, MatrixResults
from service.reports.render import render


def demo(
    out: Annotated[Path, typer.Option(help="everything the demo makes goes here")] = Path(
        "out/demo"
    ),
    languages: Annotated[
        str, typer.Option(help="languages of the sample to use")
    ] = "en,es,fi,hi,ru,zh",
    steps: Annotated[int, typer.Option(min=1, help="LoRA steps per adapter")] = 200,
    items: Annotated[
        int | None, typer.Option(min=1, help="eval items per language [default: all 12]")
    ] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="per generated response")] = 48,
    vllm_python: Annotated[
        str | None, typer.Option(help="[default: $SXS_VLLM_PYTHON, ./.venv-vllm]")
    ] = None,
) -> None:
    """Mixtures → LoRA adapters → vLLM → the comparison service → the IF matrix, on CPU.

    A second run reuses every model, generation and judgment it finds in OUT.
    """
    started = time.monotonic()
    plan = DemoPlan(
        out=out,
        languages=tuple(comma_list(languages)),
        steps=steps,
        items=items,
        max_tokens=max_tokens,
        vllm_python=vllm_python,
    )

    def say(line: str) -> None:
        typer.echo(f"[{time.monotonic() - started:5.0f} s] {line}", err=True)

    registry, mixtures = prepare_models(plan, say)
    recipe = recipe_for(plan, mixtures)
    save_recipe(recipe, out / "recipe.toml")
    write_eval_set(plan)
    with generator_engine(plan, registry, say), comparison_service(plan, registry) as url:
        say(f"the comparison service listens at {url}")
        client = MatrixClient(url, concurrency=8, poll_s=0.2)
        results = asyncio.run(_run(client, recipe, say))
    written = render(results, out / "matrix")
    won, total = own_language_wins(results)
    print_matrix(results)
    typer.echo(JUDGE_NOTE)
    typer.echo(
        f"monolingual baselines beat the other monolingual models in their own language in "
        f"{won} of {total} cells"
    )
    typer.echo(f"matrix files in {out / 'matrix'}: {', '.join(p.name for p in written)}")
    typer.echo(f"done in {time.monotonic() - started:.0f} s")
    typer.echo(f"to try the API by hand (vLLM and the service, until Ctrl-C): sxs up {out}")
    if results.missing():
        matrix_file = out / "matrix" / "matrix.json"
        raise CommandFailedError(f"{len(results.missing())} cells failed; see {matrix_file}")


async def _run(
    client: MatrixClient, recipe: MatrixRecipe, say: Callable[[str], None]
) -> MatrixResults:
    cells = len(recipe.rows) * len(recipe.languages)
    finished: list[Cell] = []

    def count(cell: Cell) -> None:
        finished.append(cell)
        score = "failed" if cell.score is None else f"{cell.score:.1f}"
        say(f"matrix {len(finished)}/{cells - len(recipe.languages)}: "
            f"{cell.row} · {cell.language} = {score}")  # fmt: skip

    try:
        return await client.run(recipe, on_cell=count)
    finally:
        await client.aclose()
