"""A real `sxs serve` process killed in the middle of a comparison, then started again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from service.app import create_app
from tests.loopback import free_port, serving
from tests.polling import poll
from tests.service.fakes import Backends, answer, expected_outcome, settings
from tests.service.live import Log, counting_judge, generator_app, start_service, write_config

SXS = Path(sys.executable).parent / "sxs"
INSTRUCTIONS = [
    {"id": str(i), "text": f"Pregunta número {i}: " + "¿por qué? " * (i % 9)} for i in range(60)
]
REQUEST = {"model_a": "good", "model_b": "bad", "language": "es", "instructions": INSTRUCTIONS}


def stored_items(db: Path, job_id: str) -> set[str]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute("select item_id from job_items where job_id = ?", [job_id])
        return {row[0] for row in rows}


def test_killed_mid_job_the_service_resumes_without_judging_anything_twice(
    tmp_path: Path,
) -> None:
    log = Log()
    port = free_port()
    with serving(generator_app(log)) as generator_url, serving(counting_judge(log)) as judge_url:
        config = write_config(tmp_path, port, generator_url, judge_url, ["good", "bad"], 2)
        service = start_service(config, tmp_path, port)
        base = f"http://127.0.0.1:{port}/v1"
        job = httpx.post(f"{base}/comparisons", json=REQUEST, timeout=10).json()
        poll(
            lambda: httpx.get(f"{base}/comparisons/{job['id']}").json(),
            lambda view: view["progress"]["done"] >= 15,
            what="15 items done before the kill",
        )
        os.killpg(service.pid, signal.SIGKILL)
        service.wait(timeout=10)
        before = stored_items(tmp_path / "sxs.db", job["id"])
        assert 15 <= len(before) < 60

        service = start_service(config, tmp_path, port)
        try:
            view = poll(
                lambda: httpx.get(f"{base}/comparisons/{job['id']}").json(),
                lambda view: view["status"] not in ("queued", "running"),
                interval_s=0.05,
                what="the resumed job's end",
            )
        finally:
            os.killpg(service.pid, signal.SIGTERM)
            service.wait(timeout=30)

    assert view["status"] == "done", view
    assert view["progress"] == {"done": 60, "total": 60}
    # nothing finished before the kill was generated or judged again
    texts = {item["id"]: item["text"] for item in INSTRUCTIONS}
    for item_id in before:
        assert log.generated[("good", texts[item_id])] == 1
        assert log.generated[("bad", texts[item_id])] == 1
    judged_twice = [prompt for prompt, count in log.judged.items() if count > 1]
    assert len(judged_twice) <= 2 * 2  # at most the calls in flight when it was killed
    assert all(count <= 2 for count in log.judged.values())
    assert len(log.judged) == 2 * sum(
        1 for i in INSTRUCTIONS if answer("good", i["text"]) != answer("bad", i["text"])
    )

    # the same score as an uninterrupted run, and as computed independently
    points = {"win": 1.0, "tie": 0.5, "loss": 0.0}
    independent = 100 * sum(points[expected_outcome(i["text"])] for i in INSTRUCTIONS) / 60
    assert view["summary"]["score"] == independent
    (tmp_path / "fresh").mkdir()
    uninterrupted = create_app(settings(tmp_path / "fresh"), transport=Backends().transport())
    with TestClient(uninterrupted) as client:
        fresh = client.post("/v1/comparisons", json=REQUEST).json()
        result = poll(
            lambda: client.get(f"/v1/comparisons/{fresh['id']}").json(),
            lambda view: view["status"] not in ("queued", "running"),
            what="the uninterrupted job's end",
        )
    assert result["status"] == "done", result
    assert result["summary"] == view["summary"]
    assert json.loads(json.dumps(result["summary"]))["pairs"] == 60
