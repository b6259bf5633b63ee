"""`sxs generate` and `sxs generators serve` as a user runs them, without a GPU or vLLM."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from typer.testing import CliRunner

from service.cli import app
from tests.loopback import free_port, serving
from tests.openai_stub import create_app

runner = CliRunner()


def setup_files(tmp_path: Path, port: int) -> tuple[Path, Path]:
    adapter = tmp_path / "es"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text('{"r": 8}', encoding="utf-8")
    registry = tmp_path / "models.toml"
    registry.write_text(
        f'base_model = "base"\nendpoints = ["http://127.0.0.1:{port}/v1"]\n'
        f'[server]\nport = {port}\n[adapters]\nes = "es"\n',
        encoding="utf-8",
    )
    eval_set = tmp_path / "eval.jsonl"
    eval_set.write_text(
        '{"id": "1", "text": {"en": "Hi", "es": "Hola"}}\n'
        '{"id": "2", "text": {"en": "Bye", "es": "Adiós"}}\n',
        encoding="utf-8",
    )
    return registry, eval_set


def test_dry_run_prints_the_vllm_command(tmp_path: Path) -> None:
    registry, _ = setup_files(tmp_path, 8123)
    result = runner.invoke(
        app, ["generators", "serve", "-r", str(registry), "--dry-run", "--vllm-python", "py"]
    )
    assert result.exit_code == 0, result.output
    command = shlex.split(result.output.strip())
    assert command[:3] == ["py", "-m", "vllm.entrypoints.openai.api_server"]
    assert f"es={(tmp_path / 'es').resolve()}" in command
    assert command[command.index("--port") + 1] == "8123"


def test_generate_against_an_openai_compatible_server(tmp_path: Path) -> None:
    with serving(create_app(lambda prompt: f"re: {prompt}")) as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        registry, eval_set = setup_files(tmp_path, port)
        args = ["generate", str(eval_set), "-m", "es", "-l", "es", "-r", str(registry)]
        args += ["--db", str(tmp_path / "s.db"), "--out", str(tmp_path / "out.jsonl"), "--json"]
        first = runner.invoke(app, args)
        second = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["generated"] == 2
    assert json.loads(second.output) | {"out": ""} == {
        "model": "es",
        "language": "es",
        "items": 2,
        "generated": 0,
        "cache_hits": 2,
        "out": "",
    }
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [row["response"] for row in rows] == ["re: Hola", "re: Adiós"]


def test_bad_input_and_an_absent_server(tmp_path: Path) -> None:
    registry, eval_set = setup_files(tmp_path, free_port())

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(
            app,
            ["generate", str(eval_set), "-r", str(registry), "--db", str(tmp_path / "d"), *args],
        )
        return result.exit_code, result.output

    code, output = run("-m", "fr", "-l", "es")
    assert code == 2
    assert "model 'fr' is not in the registry (known: base, es)" in output
    code, output = run("-m", "es", "-l", "fi")
    assert code == 2
    assert "2 items have no 'fi' instruction (first: id '1'); languages every item has: en, es" in (
        output
    )
    code, output = run("-m", "es", "-l", "es", "--timeout", "2")
    assert code == 1
    assert "error: model 'es' at http://127.0.0.1:" in output
    assert "Is the vLLM server running" in output
    bad = tmp_path / "bad.toml"
    bad.write_text('base_model = "b"\n[sampling]\ntop_p = 3\n', encoding="utf-8")
    result = runner.invoke(app, ["generate", str(eval_set), "-m", "b", "-l", "es", "-r", str(bad)])
    assert result.exit_code == 2
    assert "bad.toml: sampling.top_p: Input should be less than or equal to 1" in result.output


def test_serve_refuses_bad_settings_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "service.toml"
    config.write_text('colour = "red"\n', encoding="utf-8")
    result = runner.invoke(app, ["serve", "--config", str(config)])
    assert result.exit_code == 2
    assert "error: setting colour: Extra inputs are not permitted" in result.output
    config.write_text('default_judge = "llm"\n', encoding="utf-8")
    result = runner.invoke(app, ["serve", "--config", str(config)])
    assert result.exit_code == 2
    assert "default_judge 'llm' is not among judges (reference)" in result.output
    config.write_text(f'registry = "{tmp_path / "absent.toml"}"\n', encoding="utf-8")
    result = runner.invoke(app, ["serve", "--config", str(config)])
    assert result.exit_code == 2
    assert "absent.toml: cannot read the registry" in result.output
