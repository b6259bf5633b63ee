"""A store that cannot be written, whatever part writes it (SQLite's own `query_only` switch on
every connection of the store, the failure a full disk gives every writer): one named error,
503 with its reason, health degraded, a resumed job failed with a log line, never a 500."""

from __future__ import annotations

import gc
import logging
from pathlib import Path

import pytest
import sqlite_utils
from fastapi.testclient import TestClient

from service.app import create_app
from tests.service.comparison_api import REQUEST, wait, wait_for_items
from tests.service.fakes import Backends, settings

PAIR = {"instruction": "Name a fruit.", "response_a": "A banana.", "response_b": "No."}


def unwritable(store: Path) -> int:
    """Every open connection of this process to `store` refuses writes; how many there are."""
    found = 0
    for database in [o for o in gc.get_objects() if isinstance(o, sqlite_utils.Database)]:
        try:
            files = [row[2] for row in database.execute("PRAGMA database_list").fetchall()]
        except Exception:  # a closed connection of an earlier app
            continue
        if str(store.resolve()) in files:
            database.execute("PRAGMA query_only = 1")
            found += 1
    return found


def test_a_judgment_on_an_unwritable_store_is_a_503_and_health_says_why(
    tmp_path: Path, backends: Backends
) -> None:
    app = create_app(settings(tmp_path), transport=backends.transport())
    with TestClient(app) as client:
        assert client.post("/v1/judgments", json=PAIR).status_code == 200
        assert unwritable(tmp_path / "sxs.db") >= 4  # jobs, generations, judgments, claims
        refused = client.post("/v1/judgments", json=PAIR | {"response_b": "Nope."})
        liveness = client.get("/healthz")
    assert refused.status_code == 503, refused.text
    error = refused.json()["error"]
    assert error["type"] == "store_unavailable" and "cannot be written" in error["message"]
    assert liveness.json()["status"] == "degraded"
    assert liveness.json()["store"].startswith("error: the last write failed")


def test_a_job_resumed_on_an_unwritable_store_fails_with_a_log_line(
    tmp_path: Path, backends: Backends, caplog: pytest.LogCaptureFixture
) -> None:
    backends.delay_s = 0.05
    with TestClient(create_app(settings(tmp_path), transport=backends.transport())) as client:
        job = client.post("/v1/comparisons", json=REQUEST).json()
        wait_for_items(client, job["id"], 1)  # stopped mid-job: it resumes at the next start
    restarted = create_app(settings(tmp_path), transport=backends.transport())
    unwritable(tmp_path / "sxs.db")
    with caplog.at_level(logging.ERROR, logger="sxs.jobs"), TestClient(restarted) as client:
        view = wait(client, job["id"], {"failed", "done"})
        liveness = client.get("/healthz").json()
    assert view["status"] == "failed" and "cannot be written" in view["error"], view
    assert any(job["id"] in r.getMessage() and "cannot be written" in r.getMessage()
               for r in caplog.records)  # fmt: skip
    assert liveness["status"] == "degraded"
