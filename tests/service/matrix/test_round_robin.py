"""`sxs matrix --all-pairs`: a round robin through a real `sxs serve`, Bradley–Terry ratings
with bootstrap CIs that recover the scripted models' order."""

from __future__ import annotations

import json
import os
import signal
from itertools import combinations
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.matrix.results import load_results
from service.settings import SAMPLE_EVAL_SET
from tests.loopback import free_port, serving
from tests.service.fakes import QUALITY, expected_outcome
from tests.service.live import Log, counting_judge, generator_app, start_service, write_config

POINTS = {"win": 1.0, "tie": 0.5, "loss": 0.0}


def instructions(language: str) -> list[str]:
    rows = [json.loads(line) for line in SAMPLE_EVAL_SET.read_text("utf-8").splitlines()]
    return [row["text"][language] for row in rows]


def test_a_round_robin_recovers_the_known_order(tmp_path: Path) -> None:
    log = Log()
    port = free_port()
    served = ("tiny", *QUALITY)
    with serving(generator_app(log, served)) as generator, serving(counting_judge(log)) as judge:
        config = write_config(tmp_path, port, generator, judge, list(QUALITY))
        process = start_service(config, tmp_path, port)
        try:
            out = tmp_path / "round-robin"
            rows = ",".join(reversed(QUALITY))  # the order given says nothing of the ranking
            args = ["matrix", "--server", f"http://127.0.0.1:{port}", "--out", str(out)]
            result = CliRunner().invoke(
                app, [*args, "--rows", rows, "--languages", "es,fi", "--all-pairs"]
            )
            assert result.exit_code == 0, result.output
            judged = sum(log.judged.values())
            again = CliRunner().invoke(
                app, [*args, "--rows", rows, "--languages", "es,fi", "--all-pairs"]
            )
            assert again.exit_code == 0 and sum(log.judged.values()) == judged
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)

    results = load_results(out / "matrix.json")
    assert len(results.cells) == 2 * 6  # every pair of four models, in each language
    for cell in results.cells:
        outcomes = [
            expected_outcome(t, cell.row, cell.baseline) for t in instructions(cell.language)
        ]
        assert cell.score == pytest.approx(100 * sum(POINTS[o] for o in outcomes) / len(outcomes))
    assert {(c.row, c.baseline) for c in results.cells if c.language == "es"} == set(
        combinations(reversed(QUALITY), 2)
    )
    ratings = (out / "ratings.md").read_text("utf-8")
    for language in ("es", "fi"):
        section = ratings.split(f"## {language}")[1].split("##")[0]
        table = [line.split("|") for line in section.splitlines() if line.startswith("| ")][1:]
        ranked = [row[2].strip() for row in table]
        assert ranked == list(reversed(QUALITY)), section
        low = {row[2].strip(): row[4].strip() for row in table}
        best_low = float(low["q4"].strip("[]").split(",")[0])
        worst_high = float(low["q1"].strip("[]").split(",")[1])
        assert best_low > worst_high  # the best and the worst are told apart
    assert "| q4 |" in (out / "matrix.md").read_text("utf-8")
    assert not (out / "scores.csv").exists()


def test_all_pairs_takes_no_baselines() -> None:
    result = CliRunner().invoke(
        app,
        ["matrix", "--out", "x", "--rows", "q1,q2", "--languages", "es", "--all-pairs",
         "--baselines", "es=q1"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "all_pairs compares the rows with each other" in result.output
