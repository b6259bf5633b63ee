"""The container files parse, and every command they run exists with the options they pass.

No Docker engine here: the Dockerfile is linted by hadolint in `make lint`, and these tests
read the Dockerfile, deploy/compose.yaml and the configs the containers mount.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from generators.registry import load_registry
from service.cli import app
from service.settings import load_settings
from tests.vllm_stack import require_vllm

ROOT = Path(__file__).resolve().parents[1]
VLLM_ENTRY = ["vllm-python", "-m", "vllm.entrypoints.openai.api_server"]


def sxs_command(arguments: list[str]) -> str:
    """The sxs subcommand `arguments` run, parsed as the CLI parses them (errors raise)."""
    command: Any = typer.main.get_command(app)  # typer carries its own copy of click
    context = command.make_context("sxs", list(arguments))
    path = []
    while hasattr(command, "resolve_command"):  # a group
        name, sub, rest = command.resolve_command(context, context._protected_args + context.args)
        assert sub is not None and name is not None
        path.append(name)
        command, context = sub, sub.make_context(name, rest, parent=context)
    return " ".join(path)


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text("utf-8"))
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text("utf-8")))


def test_the_image_runs_sxs_and_its_default_command_exists() -> None:
    instructions = dockerfile()
    entrypoint = [json.loads(a) for i, a in instructions if i == "ENTRYPOINT"]
    command = [json.loads(a) for i, a in instructions if i == "CMD"]
    assert entrypoint == [["sxs"]]
    assert sxs_command(command[-1]) == "serve"
    for instruction, arguments in instructions:
        if instruction == "COPY":
            *sources, _ = arguments.split()
            assert all((ROOT / source).exists() for source in sources), arguments
    run = " ".join(a for i, a in instructions if i == "RUN")
    assert "/usr/local/bin/vllm-python" in run  # what SXS_VLLM_PYTHON and the health checks use
    environment = " ".join(a for i, a in instructions if i == "ENV")
    assert "SXS_VLLM_PYTHON=/usr/local/bin/vllm-python" in environment
    healthcheck = next(a for i, a in instructions if i == "HEALTHCHECK")
    assert '"vllm-python"' in healthcheck and "/healthz" in healthcheck


def test_the_compose_file_wires_generator_judge_and_service() -> None:
    services = compose()["services"]
    assert set(services) == {"generator", "judge", "service"}
    assert sxs_command(services["generator"]["command"]) == "generators serve"
    assert sxs_command(services["service"]["command"]) == "serve"
    assert services["judge"]["entrypoint"] == VLLM_ENTRY
    for name in ("generator", "judge"):
        assert services[name]["ipc"] == "host"
        devices = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert devices[0]["capabilities"] == ["gpu"]
        assert "vllm-python" in services[name]["healthcheck"]["test"]
    needs = services["service"]["depends_on"]
    assert {name: needs[name]["condition"] for name in needs} == {
        "generator": "service_healthy",
        "judge": "service_healthy",
    }
    assert services["service"]["ports"] == ["127.0.0.1:8080:8080"]  # loopback on the host


def test_the_mounted_configs_are_valid() -> None:
    registry = load_registry(ROOT / "deploy" / "models.toml")
    assert registry.default_endpoints == ["http://generator:8000/v1"]
    assert (registry.server.host, registry.server.port) == ("0.0.0.0", 8000)
    settings = load_settings(ROOT / "deploy" / "service.toml")
    assert settings.registry == Path("/models/models.toml")
    judge = settings.judges["llm"]
    assert getattr(judge, "base_url", None) is not None
    assert str(getattr(judge, "base_url", "")).startswith("http://judge:8001")


@pytest.mark.vllm
def test_every_vllm_flag_the_containers_pass_exists(tmp_path: Path) -> None:
    python = require_vllm()
    help_text = subprocess.run(
        [python, "-m", "vllm.entrypoints.openai.api_server", "--help"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "VLLM_HOST_IP": "127.0.0.1"},
    ).stdout
    judge = compose()["services"]["judge"]["command"]
    # the generator's command, as `sxs generators serve` would start it on a GPU host
    adapter = tmp_path / "adapters" / "es"
    adapter.mkdir(parents=True)
    (adapter / "adapter_config.json").write_text('{"r": 16}', "utf-8")
    registry = (ROOT / "deploy" / "models.toml").read_text("utf-8")
    (tmp_path / "models.toml").write_text(registry + f'es = "{adapter}"\n', "utf-8")
    dry = subprocess.run(
        [str(Path(sys.executable).parent / "sxs"), "generators", "serve", "--dry-run",
         "-r", str(tmp_path / "models.toml"), "--device", "gpu"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    generator = dry.stdout.split()
    flags = {word for word in [*judge, *generator] if word.startswith("--")}
    assert {"--model", "--enable-lora", "--lora-modules", "--max-lora-rank"} <= flags
    missing = sorted(flag for flag in flags if not documented(flag, help_text))
    assert not missing, missing


def documented(flag: str, help_text: str) -> bool:
    """Whether `flag` appears in `help_text` as a whole flag: `--model` is not found in
    `--model-impl` (a hyphen continues a flag's name, and `\\b` would stop at it)."""
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", help_text) is not None


def test_a_flag_is_found_whole_or_not_at_all() -> None:
    assert documented("--model", "  --model MODEL  the model\n  --model-impl X")
    assert not documented("--model", "  --model-impl {auto,vllm}  the implementation")
    assert not documented("--lora", "  --max-lora-rank N")
    assert documented("--dtype", "--dtype {auto,half}")
