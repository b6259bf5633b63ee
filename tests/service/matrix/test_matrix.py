"""`sxs matrix` through a real `sxs serve` process with protocol-true loopback backends."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.matrix.results import load_results
from tests.service.fakes import answer, expected_outcome
from tests.service.live import SXS, Log, instructions, loopback_backends, running_service

ROWS = "good,bad,echo"
LANGUAGES = "es,fi"
BASELINES = "es=good,fi=bad"
POINTS = {"win": 1.0, "tie": 0.5, "loss": 0.0}


@dataclass
class Service:
    url: str
    folder: Path
    log: Log


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    with (
        loopback_backends(tmp_path, judge_delay_s=0.02) as backends,
        running_service(backends) as url,
    ):
        yield Service(url, tmp_path, backends.log)


def independent_score(row: str, baseline: str, language: str) -> float:
    outcomes = [expected_outcome(text, row, baseline) for text in instructions(language)]
    return 100 * sum(POINTS[o] for o in outcomes) / len(outcomes)


def matrix_args(service: Service, out: Path, *extra: str) -> list[str]:
    return [
        *("matrix", "--server", service.url, "--out", str(out)),
        *("--rows", ROWS, "--languages", LANGUAGES, "--baselines", BASELINES),
        *extra,
    ]


def jobs(service: Service) -> int:
    with sqlite3.connect(service.folder / "sxs.db") as connection:
        return int(connection.execute("select count(*) from jobs").fetchone()[0])


def test_a_small_matrix_end_to_end(service: Service) -> None:
    out = service.folder / "matrix"
    first = CliRunner().invoke(app, matrix_args(service, out))
    assert first.exit_code == 0, first.output
    results = load_results(out / "matrix.json")
    baselines = {"es": "good", "fi": "bad"}
    for row in ("good", "bad", "echo"):
        for language in ("es", "fi"):
            cell = results.cell(row, language)
            assert cell is not None
            if row == baselines[language]:
                assert cell.diagonal and cell.score == 50.0 and cell.job_id is None
            else:
                assert cell.score == pytest.approx(
                    independent_score(row, baselines[language], language)
                )
                assert cell.pairs == 12 and cell.wins + cell.ties + cell.losses == 12
                assert cell.off_language is not None and 0 <= cell.off_language <= 100
    assert jobs(service) == 4  # the two diagonal cells cost nothing
    non_identical = sum(
        answer(row, text) != answer(baselines[language], text)
        for row, language in (("bad", "es"), ("echo", "es"), ("good", "fi"), ("echo", "fi"))
        for text in instructions(language)
    )
    assert sum(service.log.judged.values()) == 2 * non_identical
    assert max(service.log.judged.values()) == 1
    for name in ("matrix.csv", "scores.csv", "matrix.md", "ratings.md", "heatmap.png"):
        assert (out / name).stat().st_size > 0
    assert "| echo |" in first.output
    scores = (out / "scores.csv").read_text("utf-8").splitlines()
    assert scores[0] == "row,es,fi,avg"
    good = results.average("good")
    assert (
        good is not None and scores[1] == f"good,50.0,{results.score('good', 'fi'):.1f},{good:.1f}"
    )

    # the same matrix again: no generation, no judgment
    generated, judged = sum(service.log.generated.values()), sum(service.log.judged.values())
    again = CliRunner().invoke(app, matrix_args(service, service.folder / "again"))
    assert again.exit_code == 0, again.output
    assert sum(service.log.generated.values()) == generated
    assert sum(service.log.judged.values()) == judged
    assert load_results(service.folder / "again" / "matrix.json").cells == results.cells


def test_an_interrupted_matrix_completes_on_rerun(service: Service) -> None:
    out = service.folder / "matrix"
    command = [str(SXS), *matrix_args(service, out, "--concurrency", "1")]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        # Ctrl-C as a user's terminal sends it, even when this test runs from a background
        # shell (which starts its children with SIGINT ignored)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stderr is not None
    first_line = process.stderr.readline().decode()  # non-terminal: a line per finished cell
    assert first_line.startswith(("bad · es: ", "bad · fi: ", "echo · ", "good · ")), first_line
    service.log.judge_delay_s = 0.5  # the next cell cannot finish before the interrupt lands
    os.killpg(process.pid, signal.SIGINT)
    _, error = process.communicate(timeout=60)
    service.log.judge_delay_s = None
    assert process.returncode == 130, error
    assert b"finished cells saved" in error
    partial = load_results(out / "matrix.json")
    assert 1 <= sum(c.score is not None and not c.diagonal for c in partial.cells) < 4

    deadline = time.monotonic() + 60
    rerun = CliRunner().invoke(app, matrix_args(service, out))
    assert time.monotonic() < deadline
    assert rerun.exit_code == 0, rerun.output
    results = load_results(out / "matrix.json")
    assert results.score("echo", "fi") == pytest.approx(independent_score("echo", "bad", "fi"))
    assert max(service.log.judged.values()) == 1  # the service finished the jobs; none redone
    assert jobs(service) == 4


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("--rows", "good,ghost"), "model 'ghost' is not served by"),
        (("--baselines", "es=good"), "language 'fi' has no baseline: add fi=MODEL"),
        (
            ("--languages", "es,sw", "--baselines", "es=good,sw=bad"),
            "eval set 'sample' has no 'sw'",
        ),
        (("--judge", "gpt-5"), "judge 'gpt-5' is unknown to the service"),
        (("--server", "http://127.0.0.1:9"), "is not reachable"),
    ],
)
def test_bad_input_is_named_before_any_work(
    service: Service, change: tuple[str, ...], message: str
) -> None:
    result = CliRunner().invoke(app, [*matrix_args(service, service.folder / "m"), *change])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert jobs(service) == 0
    assert not service.log.generated and not service.log.judged


def test_compare_prints_one_cell(service: Service) -> None:
    result = CliRunner().invoke(
        app, ["compare", "echo", "good", "-l", "es", "--server", service.url]
    )
    assert result.exit_code == 0, result.output
    expected = independent_score("echo", "good", "es")
    assert "echo vs good · es" in result.output
    assert f"{expected:.1f}" in result.output


def test_a_fixed_reference_matrix_scores_every_row_against_one_model(service: Service) -> None:
    """The paper's Figure 10 layout: every model against the un-tuned base in every language;
    no cell is a diagonal, every one is a job."""
    out = service.folder / "reference"
    args = ["matrix", "--server", service.url, "--out", str(out), "--rows", ROWS]
    result = CliRunner().invoke(app, [*args, "--languages", LANGUAGES, "--reference", "base"])
    assert result.exit_code == 0, result.output
    results = load_results(out / "matrix.json")
    assert results.recipe.reference == "base"
    for row in ("good", "bad", "echo"):
        for language in ("es", "fi"):
            cell = results.cell(row, language)
            assert cell is not None and not cell.diagonal and cell.baseline == "base"
            assert cell.score == pytest.approx(independent_score(row, "base", language))
    assert jobs(service) == 6
    assert (out / "heatmap.png").stat().st_size > 0


def test_a_matrix_plan_is_what_the_matrix_then_does(service: Service) -> None:
    """`sxs matrix --plan`: no call and no job; the matrix then generates exactly what it
    planned (a baseline's response shared by two cells once) and makes its judge calls but two
    for each pair whose responses turn out identical (the plan's bound, said so)."""
    planned = CliRunner().invoke(app, [*matrix_args(service, service.folder / "m"), "--plan",
                                       "--json"])  # fmt: skip
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)
    assert sum(service.log.generated.values()) == 0 and not service.log.judged
    assert jobs(service) == 0
    cells = (("bad", "good", "es"), ("echo", "good", "es"), ("good", "bad", "fi"),
             ("echo", "bad", "fi"))  # fmt: skip
    assert {(c["row"], c["baseline"], c["language"]) for c in plan["cells"]} == set(cells)
    items = len(instructions("es"))
    # three models' responses in each language: the baseline's serves two cells
    assert plan["total"]["generations"] == {"needed": 2 * 3 * items, "stored": 0}
    assert sum(c["plan"]["generations"]["needed"] for c in plan["cells"]) == 4 * 2 * items
    assert plan["total"]["judge_calls"] == {"needed": 4 * 2 * items, "stored": 0}
    assert (
        "| **total** |"
        in CliRunner().invoke(app, [*matrix_args(service, service.folder / "m"), "--plan"]).output
    )

    result = CliRunner().invoke(app, matrix_args(service, service.folder / "m"))
    assert result.exit_code == 0, result.output
    identical = sum(
        answer(row, text) == answer(baseline, text)
        for row, baseline, language in cells
        for text in instructions(language)
    )
    assert sum(service.log.generated.values()) == plan["total"]["generations"]["needed"]
    assert (
        sum(service.log.judged.values()) == plan["total"]["judge_calls"]["needed"] - 2 * identical
    )

    again = json.loads(CliRunner().invoke(
        app, [*matrix_args(service, service.folder / "m"), "--plan", "--json"]).stdout)  # fmt: skip
    assert again["total"]["generations"] == {"needed": 0, "stored": 2 * 3 * items}
    assert again["total"]["judge_calls"]["needed"] == 0
    assert again["total"]["price"] == 0.0  # nothing left to pay for
