"""Two real `sxs serve` processes on one SQLite file: a job runs in one of them at a time, a
response is generated once and every judgment uses the stored one, a cancel holds everywhere."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.loopback import free_port, serving
from tests.polling import poll
from tests.service.fakes import answer
from tests.service.live import Log, counting_judge, generator_app, start_service, write_config

INSTRUCTIONS = [
    {"id": str(i), "text": f"Pregunta número {i}: " + "¿por qué? " * (i % 7)} for i in range(40)
]


def request(model_b: str) -> dict[str, Any]:
    return {"model_a": "good", "model_b": model_b, "language": "es", "instructions": INSTRUCTIONS}


@contextmanager
def two_services(
    folder: Path, log: Log, sampled: bool = False, item_concurrency: int = 4
) -> Iterator[tuple[str, str]]:
    """Two `sxs serve` processes sharing `folder/sxs.db`, in front of the same fakes; their
    /v1 URLs."""
    ports = free_port(), free_port()
    with ExitStack() as stack:
        generator = stack.enter_context(serving(generator_app(log, sampled=sampled)))
        judge = stack.enter_context(serving(counting_judge(log)))
        config = write_config(
            folder, ports[0], generator, judge, ["good", "bad", "echo"], item_concurrency
        )
        for port in ports:
            process = start_service(config, folder, port)
            stack.callback(stop, process)
        yield f"http://127.0.0.1:{ports[0]}/v1", f"http://127.0.0.1:{ports[1]}/v1"


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def finished(base: str, job_id: str) -> dict[str, Any]:
    """The job's view once it ended."""
    view: dict[str, Any] = poll(
        lambda: httpx.get(f"{base}/comparisons/{job_id}", timeout=10).json(),
        lambda view: view["status"] not in ("queued", "running"),
        interval_s=0.05,
        what=f"the end of job {job_id}",
    )
    return view


def items(base: str, job_id: str) -> list[dict[str, Any]]:
    page = httpx.get(f"{base}/comparisons/{job_id}/items", params={"limit": 1000}, timeout=10)
    return list(page.json()["items"])


def stored_generations(db: Path, model: str) -> dict[str, list[str]]:
    """item id → every text the generation store holds for `model`."""
    found: dict[str, list[str]] = {}
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "select item_id, text from generations where model = ?", [model]
        ).fetchall()
    for item_id, text in rows:
        found.setdefault(item_id, []).append(text)
    return found


def settled(count: Callable[[], int], quiet_s: float = 1.5, timeout_s: float = 30.0) -> int:
    """`count()` once it stayed the same for `quiet_s` (it stops growing), within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    last = count()
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = count()
        if now == last:
            return now
        last = now
    raise AssertionError(f"still growing after {timeout_s:g} s: {last}")


def test_the_same_job_submitted_to_two_processes_runs_once(tmp_path: Path) -> None:
    log = Log()
    with two_services(tmp_path, log) as (first, second):
        job = httpx.post(f"{first}/comparisons", json=request("bad"), timeout=10).json()
        again = httpx.post(f"{second}/comparisons", json=request("bad"), timeout=10)
        assert again.status_code == 200 and again.json()["id"] == job["id"]
        views = finished(first, job["id"]), finished(second, job["id"])

    assert views[0]["status"] == views[1]["status"] == "done", views
    assert views[0]["summary"] == views[1]["summary"]
    assert views[0]["progress"] == {"done": 40, "total": 40}
    texts = [item["text"] for item in INSTRUCTIONS]
    assert all(log.generated[(model, text)] == 1 for model in ("good", "bad") for text in texts)
    differing = [t for t in texts if answer("good", t) != answer("bad", t)]
    assert len(log.judged) == 2 * len(differing)  # both orders of every differing pair
    assert set(log.judged.values()) == {1}  # none judged twice


def test_jobs_in_two_processes_sharing_a_model_judge_the_one_stored_response(
    tmp_path: Path,
) -> None:
    """Both jobs need 'good''s responses; the generator samples, so a response made twice
    differs. Whichever process stores one first, both jobs judge that one."""
    log = Log()
    with two_services(tmp_path, log, sampled=True, item_concurrency=8) as (first, second):
        one = httpx.post(f"{first}/comparisons", json=request("bad"), timeout=10).json()
        other = httpx.post(f"{second}/comparisons", json=request("echo"), timeout=10).json()
        views = finished(first, one["id"]), finished(second, other["id"])
        judged = items(first, one["id"]) + items(second, other["id"])

    assert [view["status"] for view in views] == ["done", "done"], views
    stored = stored_generations(tmp_path / "sxs.db", "good")
    assert all(len(texts) == 1 for texts in stored.values())  # one response per item is kept
    assert len(judged) == 80
    mismatched = [i["item_id"] for i in judged if [i["response_a"]] != stored[i["item_id"]]]
    assert mismatched == []


def test_a_cancel_through_one_process_stops_the_job_running_in_the_other(
    tmp_path: Path,
) -> None:
    log = Log()
    log.judge_delay_s = 0.05  # about 3 s of judging at this concurrency: time to cancel
    with two_services(tmp_path, log, item_concurrency=2) as (first, second):
        job = httpx.post(f"{first}/comparisons", json=request("bad"), timeout=10).json()
        poll(
            lambda: httpx.get(f"{first}/comparisons/{job['id']}", timeout=10).json(),
            lambda view: view["progress"]["done"] >= 3,
            what="3 items done in the first process",
        )
        cancelled = httpx.delete(f"{second}/comparisons/{job['id']}", timeout=10).json()
        assert cancelled["status"] == "cancelled"
        # the first process stops at its next lease renewal (every second here)
        calls = settled(lambda: sum(log.judged.values()))
        views = [
            httpx.get(f"{base}/comparisons/{job['id']}", timeout=10).json()
            for base in (first, second)
        ]

    assert [view["status"] for view in views] == ["cancelled", "cancelled"], views
    assert views[0]["progress"]["done"] < 40
    assert calls < 2 * 40
    assert sum(log.judged.values()) == calls  # nothing after


def test_a_job_whose_owner_is_killed_is_taken_over_by_the_live_process(tmp_path: Path) -> None:
    """Process A runs the job and is killed (SIGKILL); B, serving the same store, never had the
    job launched: it takes the job over once A's lease lapses (3 s here, plus a scan of 1.5 s)
    and finishes it: only the calls in flight at the kill (2 items of both orders at most) are
    asked again, no finished item is."""
    log = Log()
    log.judge_delay_s = 0.05
    ports = free_port(), free_port()
    with serving(generator_app(log)) as generator, serving(counting_judge(log)) as judge:
        config = write_config(tmp_path, ports[0], generator, judge, ["good", "bad", "echo"], 2)
        owner, other = (start_service(config, tmp_path, port) for port in ports)
        first, second = (f"http://127.0.0.1:{port}/v1" for port in ports)
        try:
            job = httpx.post(f"{first}/comparisons", json=request("bad"), timeout=10).json()
            poll(
                lambda: httpx.get(f"{first}/comparisons/{job['id']}", timeout=10).json(),
                lambda view: view["progress"]["done"] >= 3,
                what="3 items done in the owner",
            )
            os.killpg(owner.pid, signal.SIGKILL)
            owner.wait(timeout=30)
            view: dict[str, Any] = poll(
                lambda: httpx.get(f"{second}/comparisons/{job['id']}", timeout=10).json(),
                lambda view: view["status"] == "done",
                timeout_s=60,
                what="the job done by the live process",
            )
        finally:
            stop(other)
    assert view["progress"] == {"done": 40, "total": 40}
    again = [prompt for prompt, calls in log.judged.items() if calls > 1]
    assert len(again) <= 2 * 2 and max(log.judged.values()) <= 2  # in flight at the kill
