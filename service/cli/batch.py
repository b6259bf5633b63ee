"""`sxs batch`: a recipe's generations and judge calls on Ray, into the service's store."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from generators.server import detect_device
from generators.vllm_command import Device
from service.batch.context import BatchContext
from service.batch.driver import BatchReport, StageCounts, run_batch
from service.batch.engine import EngineSpec, engine_spec
from service.batch.errors import BatchRunError
from service.batch.pipeline import RaySettings
from service.cli.console import print_plan
from service.cli.errors import checked
from service.cli.options import JudgeOption, PlanOption, matrix_recipe
from service.settings import load_settings
from service.wiring import Service, build_service


class BatchMode(StrEnum):
    """Where the models run."""

    HTTP = "http"
    ENGINE = "engine"


def batch(
    config: Annotated[
        Path | None,
        typer.Option(
            help="the service's settings TOML (sxs serve --config): store, models, eval sets, "
            "judges"
        ),
    ] = None,
    recipe_file: Annotated[
        Path | None, typer.Option("--recipe", help="a recipe TOML (see recipes/)")
    ] = None,
    rows: Annotated[str | None, typer.Option(help="row models, comma-separated")] = None,
    languages: Annotated[str | None, typer.Option(help="evaluation languages")] = None,
    baselines: Annotated[str | None, typer.Option(help="LANG=MODEL,…")] = None,
    reference: Annotated[str | None, typer.Option(help="one baseline for every language")] = None,
    eval_set: Annotated[str | None, typer.Option(help="[default: the service's]")] = None,
    judge: JudgeOption = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            envvar="RAY_ADDRESS",
            help="a running Ray cluster (auto, HOST:PORT, ray://HOST:PORT) [default: a Ray "
            "instance of this machine]",
        ),
    ] = None,
    num_cpus: Annotated[int | None, typer.Option(help="CPUs of a local Ray instance")] = None,
    batch_size: Annotated[int, typer.Option(help="rows per Ray Data batch")] = 16,
    concurrency: Annotated[int, typer.Option(help="HTTP workers per endpoint")] = 4,
    mode: Annotated[
        BatchMode,
        typer.Option(
            help="http: ray.data.llm's HTTP processor against the registry's endpoints and the "
            "judges' servers; engine: vLLM engines inside Ray actors (base model + every "
            "adapter, the adapter chosen per row; a judge model must be in the registry)"
        ),
    ] = BatchMode.HTTP,
    engines: Annotated[int, typer.Option(help="vLLM engines in the engine mode")] = 1,
    device: Annotated[
        Device | None, typer.Option(help="the engines' device [default: gpu if nvidia-smi runs]")
    ] = None,
    engine_python: Annotated[
        str | None,
        typer.Option(
            envvar="SXS_VLLM_PYTHON",
            help="the Python with vllm (and ray) that runs the engines [default: this one]",
        ),
    ] = None,
    plan: PlanOption = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the summary (or the plan) as JSON")
    ] = False,
) -> None:
    """Store every response and judge call a recipe's matrix needs, on Ray.

    Lists what the store lacks (responses keyed as the generation cache keys them, then both
    orders of every judge call keyed as the judgment cache keys them), runs it as Ray Data
    pipelines (ray.data.llm's HTTP processor against the registry's endpoints and the
    configured judges; --mode engine: vLLM engines inside Ray) and writes each batch into the
    store as it arrives. Then `sxs matrix`
    with the same recipe, through `sxs serve --config` on this store, makes no backend call.
    Interrupted or failed, the same command submits only the missing units. With --plan,
    only what it would do per cell (units needed and stored, tokens, price, time): no call.
    """
    recipe = matrix_recipe(recipe_file, rows, languages, baselines, eval_set, judge, reference)
    ray = checked(
        lambda: RaySettings(
            address=ray_address,
            num_cpus=num_cpus,
            batch_size=batch_size,
            concurrency=concurrency,
            engines=engines,
        ),
        _OPTIONS,
    )
    service = build_service(load_settings(config))
    if plan:
        print_plan(asyncio.run(service.planner.recipe(recipe)), as_json)
        return

    def engine() -> EngineSpec:
        return engine_spec(service.registry, device or detect_device(), engine_python)

    console = Console(stderr=True)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )
    tasks: dict[str, TaskID] = {}

    def show(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage, total=total)
        progress.update(tasks[stage], completed=done, total=total)
        if not console.is_terminal:
            typer.echo(f"{stage}: {done}/{total}", err=True)

    with progress:
        mode_engine = engine if mode is BatchMode.ENGINE else None
        report = run_batch(batch_context(service), recipe, ray, show, mode_engine)
    db = service.settings.db
    if as_json:
        typer.echo(json.dumps(summary(report), indent=2))
    else:
        _print(report, db)
    if report.failed:
        raise BatchRunError(
            f"{len(report.failed)} units failed (nothing was stored for them); fix the cause "
            "and run the same command again: it submits only the missing units"
        )


def batch_context(service: Service) -> BatchContext:
    """What the batch path uses of `service`."""
    settings = service.settings
    return BatchContext(
        requests=service.comparisons,
        registry=service.registry,
        judges=service.judges,
        judge_configs=settings.judges,
        template=service.template,
        generation_cache=service.comparisons.generation_cache,
        judgment_cache=service.judgment_cache,
        health=service.health,
        parse_attempts=settings.parse_attempts,
        generator_client=settings.generator_client(),
    )


_OPTIONS = {
    "address": "--ray-address",
    "num_cpus": "--num-cpus",
    "batch_size": "--batch-size",
    "concurrency": "--concurrency",
    "engines": "--engines",
}


def summary(report: BatchReport) -> dict[str, object]:
    """The report as plain data."""
    return {
        "seconds": round(report.seconds, 3),
        "submitted": report.submitted,
        "generations": _stage(report.generations),
        "judgments": _stage(report.judgments)
        | {"invalid": report.invalid, "parse_retries": report.parse_retries},
        "blocked_pairs": report.blocked_pairs,
        "failures": [{"unit": f.what, "reason": f.reason} for f in report.failed],
    }


def _stage(counts: StageCounts) -> dict[str, object]:
    return {
        "skipped": counts.stored_before,
        "submitted": counts.submitted,
        "stored": counts.stored,
        "failed": len(counts.failed),
    }


def _print(report: BatchReport, db: Path) -> None:
    for name, counts in (("generations", report.generations), ("judge calls", report.judgments)):
        typer.echo(
            f"{name}: {counts.stored} stored, {counts.stored_before} skipped (already stored), "
            f"{len(counts.failed)} failed"
        )
    if report.parse_retries or report.invalid:
        typer.echo(f"  judge outputs asked again: {report.parse_retries}; stored as invalid "
                   f"(no verdict after every attempt): {report.invalid}")  # fmt: skip
    if report.blocked_pairs:
        typer.echo(f"  pairs not judged, a response missing: {report.blocked_pairs}")
    reasons = Counter(failure.reason for failure in report.failed)
    for reason, count in reasons.most_common(5):
        example = next(f.what for f in report.failed if f.reason == reason)
        typer.echo(f"  failed: {count} × {reason} (e.g. {example})")
    typer.echo(f"{report.submitted} units submitted in {report.seconds:.1f} s; store: {db}")
