"""`sxs generate`: one registered model's responses to an eval set, through the store."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from common.jsonl import write_records
from common.openai_http import ClientSettings
from generators.cache import GenerationCache
from generators.client import Generation, GenerationRequest, Generator
from generators.eval_sets import instructions_in, read_eval_set
from generators.registry import load_registry
from service.cli.console import progress_bar
from service.cli.options import RegistryOption


def generate(
    eval_set: Annotated[Path, typer.Argument(help="parallel JSONL: {id, text: {lang: ...}}")],
    model: Annotated[str, typer.Option("--model", "-m", help="a model of the registry")],
    language: Annotated[str, typer.Option("--language", "-l", help="the eval set's language")],
    registry_file: RegistryOption = Path("models.toml"),
    out: Annotated[
        Path | None, typer.Option(help="responses JSONL [default: ./<model>.<language>.jsonl]")
    ] = None,
    db: Annotated[Path, typer.Option(envvar="SXS_DB", help="SQLite store")] = Path(".sxs/sxs.db"),
    concurrency: Annotated[int, typer.Option(min=1, help="requests in flight")] = 32,
    limit: Annotated[int | None, typer.Option(min=1, help="only the first N items")] = None,
    timeout: Annotated[float, typer.Option(min=0.001, help="seconds per request")] = 600.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Generate one registered model's responses to an eval set in one language."""
    registry = load_registry(registry_file)
    registry.served(model)
    items = read_eval_set(eval_set)[:limit]
    requests = [
        GenerationRequest(model, language, item_id, instruction)
        for item_id, instruction in instructions_in(items, language, eval_set)
    ]
    client = ClientSettings(concurrency=concurrency, timeout_s=timeout)
    generator = Generator(registry, cache=GenerationCache(db), client=client)
    try:
        generations = asyncio.run(_generate_with_progress(generator, requests))
    except BaseException:
        if generator.counts.stored:
            typer.echo(
                f"{generator.counts.stored} responses generated before stopping are saved "
                f"in {db}; run the same command again to continue from there",
                err=True,
            )
        raise
    destination = out or Path(f"{model}.{language}.jsonl")
    write_records(destination, (_record(g) for g in generations))
    counts = generator.counts
    summary = {
        "model": model,
        "language": language,
        "items": len(generations),
        "generated": counts.generated,
        "cache_hits": counts.cache_hits,
        "out": str(destination),
    }
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        Console().print(
            f"{model} · {language}: {len(generations)} responses "
            f"({counts.generated} generated, {counts.cache_hits} from the store) → {destination}"
        )


async def _generate_with_progress(
    generator: Generator, requests: list[GenerationRequest]
) -> list[Generation]:
    with progress_bar("generating", len(requests)) as advance:
        try:
            return await generator.generate(requests, on_result=lambda _: advance())
        finally:
            await generator.aclose()


def _record(generation: Generation) -> dict[str, object]:
    request = generation.request
    return {
        "id": request.item_id,
        "model": request.model,
        "language": request.language,
        "instruction": request.instruction,
        "response": generation.text,
        "finish_reason": generation.finish_reason,
        "completion_tokens": generation.completion_tokens,
        "seed": generation.seed,
        "cached": generation.cached,
    }
