"""`sxs generators serve | sync`: the base model and every adapter from one vLLM engine."""

from __future__ import annotations

import shlex
import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from generators.errors import ServerStartError
from generators.registry import load_registry
from generators.server import (
    VLLMServer,
    detect_device,
    find_vllm_python,
    sync_adapters,
)
from generators.vllm_command import Device, vllm_command, vllm_environment
from service.cli.base import convert_registry_base
from service.cli.options import RegistryOption

generators_app = typer.Typer(
    help="Serve the base model and its LoRA adapters from one vLLM engine.",
    no_args_is_help=True,
)


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
    registry = load_registry(registry_file)
    if not dry_run:
        convert_registry_base(registry)
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
    try:
        server.start()
        seconds = server.wait_healthy(url, startup_timeout)
        typer.echo(
            f"serving {', '.join(registry.names())} at {url} on {target.value} "
            f"(healthy after {seconds:.0f} s; log {log})",
        )
        while server.running():
            time.sleep(1.0)
        raise ServerStartError(f"vLLM stopped by itself; the end of {log}:\n{server.log_tail()}")
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
    registry = load_registry(registry_file)
    for url in endpoint or registry.default_endpoints:
        loaded = sync_adapters(registry, url)
        typer.echo(f"{url}: loaded {', '.join(loaded) if loaded else 'nothing new'}")
