"""`sxs batch` on a real local Ray instance (ray.init with this machine's CPUs), against
protocol-true loopback backends; its store then read by a real `sxs serve` process."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.matrix.results import Cell, load_results
from tests.loopback import free_port, serving
from tests.openai_stub import Rejected, prefer_longer
from tests.openai_stub import create_app as judge_app
from tests.service.fakes import answer
from tests.service.live import (
    SXS,
    Backends,
    Log,
    counting_judge,
    generator_app,
    instructions,
    loopback_backends,
    running_service,
    write_config,
)
from tests.service.matrix.test_matrix import independent_score

ROWS, LANGUAGES, BASELINES = "good,bad,echo", "es,fi", "es=good,fi=bad"
CELLS = (("bad", "good", "es"), ("echo", "good", "es"), ("good", "bad", "fi"),
         ("echo", "bad", "fi"))  # fmt: skip
RECIPE = ("--rows", ROWS, "--languages", LANGUAGES, "--baselines", BASELINES)


@pytest.fixture
def backends(tmp_path: Path) -> Iterator[Backends]:
    with loopback_backends(tmp_path) as backends:
        yield backends


def batch_command(backends: Backends, *extra: str) -> list[str]:
    return [str(SXS), "batch", "--config", str(backends.config), *RECIPE, "--num-cpus", "2",
            "--json", *extra]  # fmt: skip


def run_batch(backends: Backends, *extra: str) -> tuple[int, dict[str, object], str]:
    """`sxs batch` as a user runs it (its own process, its own Ray instance): exit code,
    printed summary, stderr."""
    done = subprocess.run(
        batch_command(backends, *extra), capture_output=True, text=True, timeout=300
    )
    summary = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, summary, done.stderr


def batch_plan(backends: Backends) -> dict[str, Any]:
    """`sxs batch --plan --json`'s total."""
    args = ["batch", "--config", str(backends.config), *RECIPE, "--plan", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout)["total"])


def stored(folder: Path) -> tuple[int, int]:
    """(responses, valid judge replies) in the store."""
    with sqlite3.connect(folder / "sxs.db") as connection:
        tables = {row[0] for row in connection.execute("select name from sqlite_master")}
        if not {"generations", "judgments"} <= tables:
            return 0, 0
        generations = connection.execute("select count(*) from generations").fetchone()[0]
        judgments = connection.execute(
            "select count(*) from judgments where verdict is not null"
        ).fetchone()[0]
    return int(generations), int(judgments)


def expected_units() -> tuple[int, int]:
    """(responses, judge calls) the recipe needs: every item's response of each model the
    cells use in each language, and both orders of every pair that is not identical."""
    models = {"es": ("good", "bad", "echo"), "fi": ("bad", "good", "echo")}
    generations = sum(len(instructions(language)) * len(models[language]) for language in models)
    pairs = sum(
        answer(row, text) != answer(baseline, text)
        for row, baseline, language in CELLS
        for text in instructions(language)
    )
    return generations, 2 * pairs


def matrix_through_service(backends: Backends, out: Path, *extra: str) -> list[Cell]:
    """The matrix `sxs matrix` computes through a real `sxs serve` on the backends' store."""
    with running_service(backends) as server:
        args = ["matrix", "--server", server, "--out", str(out), *RECIPE, *extra]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
    return load_results(out / "matrix.json").cells


def comparable(cells: list[Cell]) -> list[dict[str, object]]:
    """Cells without what differs between two stores (job ids)."""
    return [cell.model_dump(exclude={"job_id"}) for cell in cells]


def test_the_ray_path_stores_what_the_service_then_reads_without_a_call(
    backends: Backends, tmp_path_factory: pytest.TempPathFactory
) -> None:
    generations, judge_calls = expected_units()
    plan = batch_plan(backends)  # what it will do, without a call
    assert sum(backends.log.generated.values()) == 0 and not backends.log.judged
    assert plan["generations"] == {"needed": generations, "stored": 0}
    # no response yet: two calls a pair (at most; the identical pairs will need none)
    pairs = sum(len(instructions(language)) for _, _, language in CELLS)
    assert plan["judge_calls"] == {"needed": 2 * pairs, "stored": 0}
    assert plan["awaiting_generation"] == 2 * pairs
    code, summary, error = run_batch(backends)
    assert code == 0, error
    assert summary["submitted"] == generations + judge_calls
    assert summary["generations"] == {
        "skipped": 0, "submitted": generations, "stored": generations, "failed": 0
    }  # fmt: skip
    assert summary["judgments"] == {"skipped": 0, "submitted": judge_calls, "stored": judge_calls,
                                    "failed": 0, "invalid": 0, "parse_retries": 0}  # fmt: skip
    assert sum(backends.log.generated.values()) == generations
    assert sum(backends.log.judged.values()) == judge_calls
    assert max(backends.log.judged.values()) == 1
    assert stored(backends.folder) == (generations, judge_calls)

    # the service finds every unit stored: no generation, no judge call
    batch_cells = matrix_through_service(backends, backends.folder / "matrix")
    assert sum(backends.log.generated.values()) == generations
    assert sum(backends.log.judged.values()) == judge_calls
    for row, baseline, language in CELLS:
        cell = next(c for c in batch_cells if (c.row, c.language) == (row, language))
        assert cell.score == pytest.approx(independent_score(row, baseline, language))

    # the service path alone, on a fresh store, computes the same cells
    with loopback_backends(tmp_path_factory.mktemp("service-path")) as alone:
        service_cells = matrix_through_service(alone, alone.folder / "m")
    assert sum(alone.log.judged.values()) == judge_calls
    assert comparable(service_cells) == comparable(batch_cells)

    # a rerun plans nothing and submits nothing
    again = batch_plan(backends)
    assert again["generations"] == {"needed": 0, "stored": generations}
    assert again["judge_calls"] == {"needed": 0, "stored": judge_calls}
    code, summary, error = run_batch(backends)
    assert code == 0, error
    assert summary["submitted"] == 0
    assert summary["generations"]["skipped"] == generations  # type: ignore[index]
    assert summary["judgments"]["skipped"] == judge_calls  # type: ignore[index]
    assert sum(backends.log.judged.values()) == judge_calls


def judgment_rows(folder: Path) -> int:
    with sqlite3.connect(folder / "sxs.db") as connection:
        return int(connection.execute("select count(*) from judgments").fetchone()[0])


def with_reference_judge(backends: Backends) -> Backends:
    with backends.config.open("a", encoding="utf-8") as config:
        config.write('[judges.reference]\nkind = "reference"\n')
    return backends


def test_an_in_process_judge_runs_in_ray_tasks(
    backends: Backends, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The reference judge (chrF to the eval set's reference answers) is no server: its calls
    run in Ray tasks, stored under the keys the service reads."""
    with_reference_judge(backends)
    _, judge_calls = expected_units()
    code, summary, error = run_batch(backends, "--judge", "reference")
    assert code == 0, error
    assert summary["judgments"]["stored"] == judge_calls  # type: ignore[index]
    assert not backends.log.judged  # the HTTP judge was not asked
    rows = judgment_rows(backends.folder)
    with sqlite3.connect(backends.folder / "sxs.db") as connection:
        judges = {row[0] for row in connection.execute("select distinct judge from judgments")}
    assert rows == judge_calls and len(judges) == 1 and judges.pop().startswith("reference|chrF")

    batch_cells = matrix_through_service(backends, backends.folder / "m", "--judge", "reference")
    assert judgment_rows(backends.folder) == rows  # every call found stored: none made

    with loopback_backends(tmp_path_factory.mktemp("service-path")) as alone:
        fresh = with_reference_judge(alone)
        service_cells = matrix_through_service(fresh, alone.folder / "m", "--judge", "reference")
    assert judgment_rows(alone.folder) == rows
    assert comparable(service_cells) == comparable(batch_cells)
    assert any(cell.score not in (None, 50.0) for cell in batch_cells)


def test_a_killed_driver_resumes_with_only_the_missing_units(backends: Backends) -> None:
    generations, judge_calls = expected_units()
    backends.log.judge_delay_s = 0.05  # the judge pass outlasts the first stored batches
    process = subprocess.Popen(
        batch_command(backends, "--batch-size", "4", "--concurrency", "1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while stored(backends.folder)[1] == 0:
        assert time.monotonic() < deadline, "no judge reply was stored in time"
        assert process.poll() is None, "the run ended before it could be killed"
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)  # the driver dies mid-pass
    process.wait(timeout=30)
    kept_generations, kept_judgments = stored(backends.folder)
    assert kept_generations == generations and 0 < kept_judgments < judge_calls

    backends.log.judge_delay_s = None
    code, summary, error = run_batch(backends)
    assert code == 0, error
    assert summary["submitted"] == judge_calls - kept_judgments
    assert summary["generations"]["submitted"] == 0  # type: ignore[index]
    assert summary["judgments"]["skipped"] == kept_judgments  # type: ignore[index]
    assert stored(backends.folder) == (generations, judge_calls)
    cells = matrix_through_service(backends, backends.folder / "matrix")
    for row, baseline, language in CELLS:
        cell = next(c for c in cells if (c.row, c.language) == (row, language))
        assert cell.score == pytest.approx(independent_score(row, baseline, language))


def test_failed_judge_calls_are_listed_and_never_stored(tmp_path: Path) -> None:
    """A judge that refuses some prompts (HTTP 400, as vLLM for a bad request): those units
    fail with the server's reason; every other unit is stored."""
    log = Log()

    def refuses_bad_answers(prompt: str) -> str:
        if "\nAnswer1:\nmmm" in prompt:
            raise Rejected("this prompt is too long for the judge")
        return prefer_longer(prompt)

    with serving(generator_app(log)) as generator, serving(judge_app(refuses_bad_answers)) as judge:
        port = free_port()
        config = write_config(tmp_path, port, generator, judge, ["good", "bad", "echo"])
        code, summary, error = run_batch(Backends(tmp_path, config, port, log))
    assert code == 1, error
    assert "units failed (nothing was stored for them)" in error
    failures = summary["failures"]
    assert isinstance(failures, list) and failures
    assert all("this prompt is too long for the judge" in f["reason"] for f in failures)
    assert all(f["unit"].startswith("judge llm · ") for f in failures)
    _, judge_calls = expected_units()
    assert summary["judgments"]["failed"] == len(failures)  # type: ignore[index]
    assert stored(tmp_path)[1] == judge_calls - len(failures)
    with sqlite3.connect(tmp_path / "sxs.db") as connection:
        rows = connection.execute("select count(*) from judgments").fetchone()[0]
    assert rows == judge_calls - len(failures)  # no row at all for a failed unit


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("--rows", "good,ghost"), "'ghost'"),
        (("--ray-address", "127.0.0.1:{closed}"), "is not reachable"),
        (("--ray-address", "nowhere"), "is not HOST:PORT"),
        (("--batch-size", "0"), "--batch-size"),
        (("--judge", "gpt-5"), "judge 'gpt-5' is not configured"),
        (("--mode", "engine", "--device", "cpu"), "which the registry does not hold"),
        (("--mode", "both"), "'both' is not one of"),
    ],
)
def test_bad_input_stops_before_any_unit(
    backends: Backends, change: tuple[str, ...], message: str
) -> None:
    closed = str(free_port())
    code, _, error = run_batch(backends, *(part.format(closed=closed) for part in change))
    assert code == 2, error
    assert message in error
    assert not backends.log.generated and not backends.log.judged
    assert stored(backends.folder) == (0, 0)


def test_a_judge_that_is_down_stops_the_run_before_any_unit(tmp_path: Path) -> None:
    log = Log()
    with serving(generator_app(log)) as generator:
        port = free_port()
        down = f"http://127.0.0.1:{free_port()}/v1"
        config = write_config(tmp_path, port, generator, down, ["good", "bad", "echo"])
        code, _, error = run_batch(Backends(tmp_path, config, port, log))
    assert code == 2, error
    assert "judge 'llm'" in error and "nothing was submitted" in error
    assert not log.generated
    assert stored(tmp_path) == (0, 0)


def test_a_slow_endpoint_fails_only_its_own_units_within_its_timeout(tmp_path: Path) -> None:
    """Model `bad` is served by a generator that lists its models but never finishes a
    completion in time: its units fail after the configured `generation_timeout_s` (one try),
    and every other endpoint's units are stored."""
    log, slow_log = Log(), Log()
    slow = generator_app(slow_log, delay_s=120.0)
    with (
        serving(generator_app(log)) as generator,
        serving(slow) as stalled,
        serving(counting_judge(log, 0.0)) as judge,
    ):
        port = free_port()
        config = write_config(tmp_path, port, generator, judge, ["good", "echo"])
        with (tmp_path / "models.toml").open("a", encoding="utf-8") as models:
            models.write(f'[adapters.bad]\npath = "bad"\nendpoints = ["{stalled}"]\n')
        text = config.read_text(encoding="utf-8").replace(
            "[judges.llm]", "generation_timeout_s = 2\n[generation_retry]\nmax_attempts = 1\n"
            "[judges.llm]",
        )  # fmt: skip
        config.write_text(text, encoding="utf-8")
        code, summary, error = run_batch(Backends(tmp_path, config, port, log))
    assert code == 1, error
    failures = summary["failures"]
    assert isinstance(failures, list) and failures
    assert {f["unit"].split(" · ")[0] for f in failures} == {"generation bad"}
    assert all("(TimeoutError) " in f["reason"] and "2 s a try, 1 tries" in f["reason"]
               for f in failures), failures[0]  # fmt: skip
    generations, _ = expected_units()
    bad = len(instructions("es")) + len(instructions("fi"))
    assert stored(tmp_path)[0] == generations - bad  # good's and echo's: every one
    assert sum(slow_log.generated.values()) <= bad  # one try each, no retry


def test_a_driver_killed_alone_leaves_no_ray_process_behind(backends: Backends) -> None:
    """SIGKILL to the driver only (as the OOM killer sends it): the local Ray instance it
    started (GCS, raylet, workers) is stopped by its watchdog, not left running."""
    import psutil

    backends.log.judge_delay_s = 0.05
    process = subprocess.Popen(
        batch_command(backends, "--batch-size", "4", "--concurrency", "1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    driver = psutil.Process(process.pid)
    deadline = time.monotonic() + 240
    while stored(backends.folder)[0] == 0:  # Ray is up and answering
        assert time.monotonic() < deadline, "nothing was stored in time"
        assert process.poll() is None, "the run ended before it could be killed"
        time.sleep(0.1)
    ray_processes = [p for p in driver.children(recursive=True) if "watchdog" not in p.cmdline()]
    assert ray_processes, "no Ray process under the driver"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    _, alive = psutil.wait_procs(ray_processes, timeout=45)
    assert not alive, [p.cmdline() for p in alive]
