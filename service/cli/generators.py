"""`sxs generators serve | sync` and `sxs generate`: serving models and generating responses."""

from __future__ import annotations

import asyncio
import json
import shlex
import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from common.jsonl import write_records
from generators.cache import GenerationCache
from generators.client import Generation, GenerationRequest, Generator
from generators.errors import ServerStartError
from generators.eval_sets import instructions_in, read_eval_set
from generators.registry import load_registry
from generators.server import (
    VLLMServer,
    detect_device,
    find_vllm_python,
    sync_adapters,
)
from generators.vllm_command import Device, vllm_command, vllm_environment
from service.cli.console import progress_bar
from service.cli.errors import user_errors

generators_app = typer.Typer(
    help="Serve the base model and its LoRA adapters from one vLLM engine.",
    no_args_is_help=True,
)

RegistryOption = Annotated[
    Path, typer.Option("--registry", "-r", envvar="SXS_REGISTRY", help="the models.toml")
]


@generators_app.command("serve")
def serve(
    registry_file: RegistryOption = Path("models.toml"),
    vllm_python: Annotated[
        str | None,
        typer.Option(help="Python with vLLM [default: $SXS_VLLM_PYTHON, ./.venv-vllm, this one]"),
    ] = None,
    device: Annotated[
        Device | None, typer.Option(help="[default: gpu if nvidia-smi exists]")
    ] = None,
    startup_timeout: Annotated[
        float, typer.Option(min=1.0, help="seconds to wait for /health")
    ] = 600.0,
    log: Annotated[Path, typer.Option(help="vLLM's log file")] = Path(".sxs/vllm.log"),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the command only")] = False,
) -> None:
    """Start vLLM with the base model and every adapter; stop it on Ctrl-C or SIGTERM."""
    with user_errors():
        registry = load_registry(registry_file)
        python = find_vllm_python(vllm_python) if not dry_run else (vllm_python or "python")
        target = device or detect_device()
        command = vllm_command(registry, python, target)
        environment = vllm_environment(registry, target)
    typer.echo(shlex.join(command))
    if dry_run:
        return
    url = f"http://{registry.server.host}:{registry.server.port}/v1"
    server = VLLMServer(command, environment, log)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with user_errors():
        try:
            server.start()
            seconds = server.wait_healthy(url, startup_timeout)
            typer.echo(
                f"serving {', '.join(registry.names())} at {url} on {target.value} "
                f"(healthy after {seconds:.0f} s; log {log})",
            )
            while server.running():
                time.sleep(1.0)
            raise ServerStartError(
                f"vLLM stopped by itself; the end of {log}:\n{server.log_tail()}"
            )
        except KeyboardInterrupt:
            typer.echo("stopping vLLM")
        finally:
            server.stop()


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@generators_app.command("sync")
def sync(
    registry_file: RegistryOption = Path("models.toml"),
    endpoint: Annotated[
        list[str] | None, typer.Option(help="server to update [default: the registry's endpoints]")
    ] = None,
) -> None:
    """Load the registry's adapters that a running server does not serve yet."""
    with user_errors():
        registry = load_registry(registry_file)
        for url in endpoint or registry.default_endpoints:
            loaded = sync_adapters(registry, url)
            typer.echo(f"{url}: loaded {', '.join(loaded) if loaded else 'nothing new'}")


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
    with user_errors():
        registry = load_registry(registry_file)
        registry.served(model)
        items = read_eval_set(eval_set)[:limit]
        requests = [
            GenerationRequest(model, language, item_id, instruction)
            for item_id, instruction in instructions_in(items, language, eval_set)
        ]
        generator = Generator(
            registry, cache=GenerationCache(db), concurrency=concurrency, timeout_s=timeout
        )
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
