"""Jobs when a backend fails: retried, failed with a clear message, resumed; never a made-up
result."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from common.openai_http import RetryPolicy
from judges.backends.openai import OpenAIJudgeConfig
from service.app import create_app
from tests.service.comparison_api import (
    REQUEST,
    SPANISH,
    expected_score,
    wait,
    wait_for_items,
)
from tests.service.fakes import JUDGE, Backends, settings


def test_a_backend_that_fails_sometimes_slows_but_loses_nothing(
    tmp_path: Path, backends: Backends
) -> None:
    """Every 4th call answers 503. With calls in flight together and no backoff, a request's
    retries can meet the 4th call again (under CI load three times in a row: the job failed,
    as it must after its last attempt), so each request here has 8 attempts."""
    backends.fail_every = 4
    patient = RetryPolicy(max_attempts=8, backoff_initial_s=0.0, backoff_max_s=0.0)
    judge = OpenAIJudgeConfig(base_url=JUDGE, model="judge", max_attempts=8,
                              backoff_initial_s=0.0, backoff_max_s=0.0)  # fmt: skip
    values = settings(tmp_path, generation_retry=patient, judges={"llm": judge})
    with TestClient(create_app(values, transport=backends.transport())) as client:
        job = client.post("/v1/comparisons", json=REQUEST).json()
        done = wait(client, job["id"], {"done", "failed"})
    assert done["status"] == "done", done["error"]
    assert done["summary"]["score"] == pytest.approx(expected_score(SPANISH))
    assert max(backends.judgments.values()) == 1
    assert max(backends.generations.values()) == 1


def test_a_backend_that_is_down_fails_the_job_then_a_resubmission_completes(
    client: TestClient, backends: Backends
) -> None:
    backends.down = {"judge.test"}
    job = client.post("/v1/comparisons", json=REQUEST).json()
    failed = wait(client, job["id"], {"failed", "done"})
    assert failed["status"] == "failed"
    assert "judge endpoint http://judge.test/v1/completions (model 'judge')" in failed["error"]
    assert "ConnectError" in failed["error"]
    generated = sum(backends.generations.values())
    assert generated > 0

    backends.down = set()
    assert client.post("/v1/comparisons", json=REQUEST).status_code == 200
    done = wait(client, job["id"], {"done", "failed"})
    assert done["status"] == "done"
    assert done["summary"]["score"] == pytest.approx(expected_score(SPANISH))
    assert max(backends.generations.values()) == 1  # what was generated before was kept


def test_a_null_content_fails_the_job_and_is_never_an_identical_tie(
    tmp_path: Path, client: TestClient, backends: Backends
) -> None:
    request = {"model_a": "mute", "model_b": "null", "language": "es", "item_ids": ["1"]}
    job = client.post("/v1/comparisons", json=request).json()
    failed = wait(client, job["id"], {"done", "failed"})
    assert failed["status"] == "failed", failed
    assert "model 'null'" in failed["error"] and "content is null" in failed["error"]
    assert failed["summary"] is None or failed["summary"]["pairs"] == 0
    assert backends.generations[("null", SPANISH[0])] == 3  # retried: the policy's 3 attempts
    import sqlite3

    with sqlite3.connect(tmp_path / "sxs.db") as db:
        stored = [row[0] for row in db.execute("select model from generations")]
    assert stored == ["mute"]  # the empty answer is kept; nothing for the null one


def test_a_resumed_job_that_can_no_longer_run_fails_with_the_message_of_a_new_request(
    tmp_path: Path,
) -> None:
    backends = Backends()
    backends.delay_s = 0.2  # slow enough that the job is unfinished when the service stops
    with TestClient(create_app(settings(tmp_path), transport=backends.transport())) as first:
        job = first.post("/v1/comparisons", json=REQUEST).json()
        assert job["status"] in ("queued", "running")
    # the model leaves the registry before the service starts again
    smaller = tmp_path / "smaller.toml"
    text = (tmp_path / "models.toml").read_text("utf-8")
    smaller.write_text(text.replace('bad = "adapters/bad"\n', ""), "utf-8")
    fresh = Backends()
    service = create_app(settings(tmp_path, registry=smaller), transport=fresh.transport())
    with TestClient(service) as second:
        failed = wait(second, job["id"], {"failed", "done"})
        new = second.post("/v1/comparisons", json=REQUEST)
    assert new.status_code == 404
    assert failed["status"] == "failed"
    assert failed["error"] == new.json()["error"]["message"]
    assert failed["error"].startswith("model 'bad' is not in the registry")
    assert not fresh.judgments


def test_a_job_whose_every_verdict_is_invalid_says_so(tmp_path: Path) -> None:
    backends = Backends()
    mumbling = OpenAIJudgeConfig(
        base_url="http://mumble.test/v1", model="judge", backoff_initial_s=0, backoff_max_s=0
    )
    config = settings(tmp_path, judges={"llm": mumbling}, parse_attempts=2)
    with TestClient(create_app(config, transport=backends.transport())) as client:
        job = client.post("/v1/comparisons", json=REQUEST | {"item_ids": ["1", "2"]}).json()
        done = wait(client, job["id"], {"done", "failed"})
        metrics = client.get("/metrics").text
    assert done["status"] == "done" and done["error"] is None
    assert done["summary"]["score"] is None and done["summary"]["invalid"] == 2
    assert done["warning"].startswith("no valid verdict: the judge answered neither '1' nor '2'")
    assert "sxs_jobs_without_valid_verdict_total 1.0" in metrics
    assert sum(backends.judgments.values()) == 2 * 2 * 2  # both orders, both parse attempts


def test_a_store_that_cannot_be_written_fails_the_job_visibly(
    tmp_path: Path, backends: Backends
) -> None:
    """A full disk, made real by SQLite's own limit on the store's pages: the job fails with
    why, the liveness probe says the store cannot be written, and new work gets 503."""
    backends.delay_s = 0.02
    app = create_app(settings(tmp_path, item_concurrency=1), transport=backends.transport())
    with TestClient(app) as client:
        job = client.post("/v1/comparisons", json=REQUEST).json()
        wait_for_items(client, job["id"], 1)
        store = app.state.service.store
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full from here
        failed = wait(client, job["id"], {"failed", "done"})
        liveness = client.get("/healthz").json()
        big = [{"id": str(i), "text": "Why? " * 2000} for i in range(20)]  # new pages needed
        more = client.post("/v1/comparisons", json=REQUEST | {"instructions": big})
        metrics = client.get("/metrics").text
    assert failed["status"] == "failed", failed
    assert "database or disk is full" in failed["error"] and "resubmit" in failed["error"]
    assert liveness["status"] == "degraded"
    assert liveness["store"].startswith("error: the last write failed")
    assert more.status_code == 503 and more.headers["retry-after"] == "30", more.text
    assert more.json()["error"]["type"] == "store_unavailable"
    assert "sxs_store_write_errors_total 1.0" in metrics
