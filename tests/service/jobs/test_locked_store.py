"""A store whose write lock another connection holds (a long transaction in another process,
a backup): requests are answered 503 `store_busy` without stalling the service, and a running
job waits for the lock instead of failing."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from tests.loopback import serving
from tests.polling import poll
from tests.service.comparison_api import (
    REQUEST,
    SPANISH,
    expected_score,
    wait,
    wait_for_items,
)
from tests.service.fakes import Backends, settings


@contextmanager
def write_lock_held(db: Path) -> Iterator[sqlite3.Connection]:
    """Another connection holding the file's write lock until the block ends."""
    connection = sqlite3.connect(db, isolation_level=None)
    connection.execute("begin immediate")
    try:
        yield connection
    finally:
        connection.execute("rollback")
        connection.close()


def test_a_locked_store_answers_503_and_never_stalls_the_service(
    tmp_path: Path, backends: Backends
) -> None:
    app = create_app(settings(tmp_path, store_busy_timeout_s=2.0), transport=backends.transport())
    with serving(app) as base:
        root = base.removesuffix("/v1")
        probes: list[int] = []  # liveness answers received while the submission waited
        with write_lock_held(tmp_path / "sxs.db"), ThreadPoolExecutor(1) as pool:
            submission = pool.submit(httpx.post, f"{base}/comparisons", json=REQUEST, timeout=30)
            while not submission.done():
                status = httpx.get(f"{root}/healthz", timeout=30).status_code
                if not submission.done():
                    probes.append(status)
            refused = submission.result()
        after = httpx.get(f"{root}/healthz").json()
        accepted = httpx.post(f"{base}/comparisons", json=REQUEST, timeout=30)
        done = poll(
            lambda: httpx.get(f"{base}/comparisons/{accepted.json()['id']}").json(),
            lambda view: view["status"] not in ("queued", "running"),
            what="the job submitted once the lock is gone",
        )
        recovered = httpx.get(f"{root}/healthz").json()

    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "5"
    assert refused.json()["error"]["type"] == "store_busy"
    assert "locked" in refused.json()["error"]["message"]
    # the event loop kept serving while the store call waited (in a worker thread)
    assert len(probes) >= 5 and set(probes) == {200}, probes
    assert after["status"] == "degraded" and after["store"].startswith("busy: "), after
    assert accepted.status_code == 202, accepted.text
    assert done["status"] == "done", done
    assert recovered == {"status": "ok", "store": "ok"}


def test_a_running_job_waits_for_a_lock_held_longer_than_the_busy_timeout(
    tmp_path: Path, backends: Backends
) -> None:
    backends.delay_s = 0.05
    app = create_app(
        settings(tmp_path, store_busy_timeout_s=0.2, item_concurrency=1),
        transport=backends.transport(),
    )
    with TestClient(app) as client:
        job = client.post("/v1/comparisons", json=REQUEST).json()
        wait_for_items(client, job["id"], 2)
        with write_lock_held(tmp_path / "sxs.db"):
            locked = client.get(f"/v1/comparisons/{job['id']}").json()  # reads still answer
            time.sleep(2.0)  # ten busy timeouts: every write the job tries meets the lock
            unlocked = client.get(f"/v1/comparisons/{job['id']}").json()
        done = wait(client, job["id"], {"done", "failed"})

    assert locked["status"] == unlocked["status"] == "running"
    assert locked["progress"]["done"] == unlocked["progress"]["done"] < len(SPANISH)
    assert done["status"] == "done", done["error"]
    assert done["progress"] == {"done": len(SPANISH), "total": len(SPANISH)}
    assert done["summary"]["score"] == pytest.approx(expected_score(SPANISH))
    assert max(backends.judgments.values()) == 1  # a reply received during the lock was kept
    assert max(backends.generations.values()) == 1


def test_reads_and_health_answer_while_a_running_jobs_writes_wait_on_the_lock(
    tmp_path: Path, backends: Backends
) -> None:
    """The reliability probe: a job with many items in flight, another process holding the
    write lock for 6 s. The job's writes wait (they are patient) in their own threads, so the
    liveness probe and a GET keep answering during the lock, and a new submission is refused
    503 `store_busy` after its busy timeout instead of queueing behind the job's writes."""
    backends.delay_s = 0.05
    app = create_app(
        settings(tmp_path, store_busy_timeout_s=1.0, item_concurrency=32),
        transport=backends.transport(),
    )
    with serving(app) as base:
        root = base.removesuffix("/v1")
        big = [{"id": str(i), "text": f"Pregunta {i}?"} for i in range(200)]
        job = httpx.post(f"{base}/comparisons", json=REQUEST | {"instructions": big}).json()
        poll(
            lambda: httpx.get(f"{base}/comparisons/{job['id']}").json(),
            lambda view: view["progress"]["done"] >= 5,
            what="the job under way",
        )
        answered: list[int] = []
        with write_lock_held(tmp_path / "sxs.db"):
            released_at = time.monotonic() + 6.0
            with ThreadPoolExecutor(1) as pool:
                other = REQUEST | {"model_b": "spanish"}
                submission = pool.submit(httpx.post, f"{base}/comparisons", json=other,
                                         timeout=60)  # fmt: skip
                while time.monotonic() < released_at:  # a bounded loop: the lock's 6 s
                    live = httpx.get(f"{root}/healthz", timeout=60)
                    view = httpx.get(f"{base}/comparisons/{job['id']}", timeout=60)
                    if time.monotonic() < released_at:
                        answered.append(live.status_code + view.status_code)
                refused = submission.result()
        done = poll(
            lambda: httpx.get(f"{base}/comparisons/{job['id']}").json(),
            lambda view: view["status"] not in ("queued", "running"),
            timeout_s=120,
            what="the job's end once the lock is gone",
        )
    assert len(answered) >= 5 and set(answered) == {400}, answered  # 200 + 200, many times
    assert refused.status_code == 503 and refused.json()["error"]["type"] == "store_busy"
    assert done["status"] == "done" and done["progress"]["done"] == 200
