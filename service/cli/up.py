"""`sxs up`: the demo's generator engine and the comparison service on loopback, until Ctrl-C."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path
from typing import Annotated

import typer

from service.cli.console import sigterm_as_interrupt
from service.cli.errors import UsageError
from service.demo import DemoPlan
from service.demo_serving import comparison_service, generator_engine, served_student
from service.matrix.recipe import MatrixRecipe, load_recipe


def up(
    folder: Annotated[
        Path, typer.Argument(help="a folder `sxs demo` made (models.toml, sxs.db, eval.jsonl)")
    ] = Path("out/demo"),
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="the comparison service's port")
    ] = 8080,
    vllm_python: Annotated[
        str | None, typer.Option(help="[default: $SXS_VLLM_PYTHON, ./.venv-vllm]")
    ] = None,
) -> None:
    """Serve the demo's base model and adapters (one vLLM engine) and the comparison API on
    127.0.0.1 (judges: `reference`, and `distilled` when the demo made it), print how to use
    them, and stop both on Ctrl-C (or SIGTERM)."""
    registry, recipe = folder / "models.toml", folder / "recipe.toml"
    for needed in (registry, recipe, folder / "eval.jsonl"):
        if not needed.is_file():
            raise UsageError(
                f"{folder} has no {needed.name}: run `make demo` (or `sxs demo --out {folder}`) "
                "first"
            )
    if not _free(port):
        raise UsageError(f"port {port} on 127.0.0.1 is in use: pick another with --port")
    # a bad recipe fails here, before vLLM starts
    commands = usage(f"http://127.0.0.1:{port}", folder, load_recipe(recipe))
    started = time.monotonic()

    def say(line: str) -> None:
        typer.echo(f"[{time.monotonic() - started:5.0f} s] {line}", err=True)

    plan = DemoPlan(out=folder, vllm_python=vllm_python)
    try:
        with (
            sigterm_as_interrupt(),
            generator_engine(plan, registry, say),
            comparison_service(plan, registry, port, served_student(plan, registry)),
        ):
            typer.echo(commands)
            while True:
                signal.pause()
    except KeyboardInterrupt:
        typer.echo("stopped the comparison service and vLLM", err=True)


def usage(url: str, folder: Path, recipe: MatrixRecipe) -> str:
    """What to paste: a comparison of the demo's models by curl, then a matrix and its plot."""
    language = "es" if "es" in recipe.languages else recipe.languages[0]
    model_b = recipe.baselines[language]
    model_a = next(row.model for row in recipe.rows if row.model != model_b)
    body = (
        f'{{"model_a": "{model_a}", "model_b": "{model_b}", "language": "{language}", '
        '"eval_set": "demo"}'
    )
    return "\n".join(
        [
            f"the comparison service listens at {url} (API docs: {url}/docs); Ctrl-C stops it",
            "try:",
            f"  curl -s {url}/v1/models",
            f"  curl -s -X POST {url}/v1/comparisons -H 'content-type: application/json' \\",
            f"       -d '{body}'",
            f"  curl -s {url}/v1/comparisons/JOB_ID          # the id the POST answered",
            f"  sxs matrix --server {url} --recipe {folder}/recipe.toml --out {folder}/again",
            f"  sxs plot {folder}/again/matrix.json",
        ]
    )


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
