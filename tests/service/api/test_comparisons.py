"""A comparison through the real app, a temporary SQLite file and protocol-true fakes:
submission, items, the identity of jobs, cancel and resume, empty answers."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import SAMPLE_EVAL_SET
from tests.polling import poll
from tests.service.comparison_api import REQUEST, SPANISH, expected_score, wait
from tests.service.fakes import Backends, expected_outcome, settings


def test_a_comparison_from_submission_to_paged_items(
    client: TestClient, backends: Backends
) -> None:
    submitted = client.post("/v1/comparisons", json=REQUEST)
    assert submitted.status_code == 202
    job = submitted.json()
    assert job["status"] in ("queued", "running", "done")
    assert job["progress"]["total"] == 12
    done = wait(client, job["id"], {"done"})
    assert done["progress"] == {"done": 12, "total": 12}
    summary = done["summary"]
    assert summary["score"] == pytest.approx(expected_score(SPANISH))
    assert summary["wins"] + summary["ties"] + summary["losses"] == 12
    assert summary["ci_low"] <= summary["score"] <= summary["ci_high"]
    assert 0 < summary["wins"] < 12  # the fakes make a real mix

    first = client.get(f"/v1/comparisons/{job['id']}/items", params={"limit": 5}).json()
    rest = client.get(f"/v1/comparisons/{job['id']}/items", params={"offset": 5}).json()
    assert (len(first["items"]), len(rest["items"]), first["total"]) == (5, 7, 12)
    items = first["items"] + rest["items"]
    assert [item["instruction"] for item in items] == SPANISH
    for item in items:
        assert item["outcome"] == expected_outcome(item["instruction"])
        assert item["response_a"] == f"Answer: {item['instruction']}"
        assert item["ab"]["verdict"] in ("1", "2")
    assert sum(backends.generations.values()) == 24
    assert sum(backends.judgments.values()) == 24

    metrics = client.get("/metrics").text
    assert "sxs_items_total 12.0" in metrics
    assert "sxs_jobs_submitted_total 1.0" in metrics


def test_the_same_request_is_the_same_job(client: TestClient, backends: Backends) -> None:
    job = client.post("/v1/comparisons", json=REQUEST).json()
    wait(client, job["id"], {"done"})
    calls = (sum(backends.generations.values()), sum(backends.judgments.values()))
    again = client.post("/v1/comparisons", json=REQUEST)
    assert again.status_code == 200
    assert again.json()["id"] == job["id"]
    assert wait(client, job["id"], {"done"})["progress"]["done"] == 12
    assert (sum(backends.generations.values()), sum(backends.judgments.values())) == calls

    subset = client.post("/v1/comparisons", json=REQUEST | {"item_ids": ["3", "1"]}).json()
    assert subset["id"] != job["id"]
    finished = wait(client, subset["id"], {"done"})
    assert finished["progress"] == {"done": 2, "total": 2}
    # its items were generated and judged for the first job: the stores answer
    assert (sum(backends.generations.values()), sum(backends.judgments.values())) == calls


def test_an_edited_eval_set_is_a_new_job(tmp_path: Path, backends: Backends) -> None:
    eval_file = tmp_path / "mine.jsonl"
    lines = SAMPLE_EVAL_SET.read_text("utf-8").splitlines()
    eval_file.write_text("\n".join(lines[:4]) + "\n", "utf-8")
    config = settings(tmp_path, eval_sets={"sample": eval_file})
    with TestClient(create_app(config, transport=backends.transport())) as client:
        first = client.post("/v1/comparisons", json=REQUEST).json()
        assert wait(client, first["id"], {"done"})["progress"]["total"] == 4
    eval_file.write_text("\n".join(lines[:6]) + "\n", "utf-8")  # same name, more items
    with TestClient(create_app(config, transport=backends.transport())) as client:
        second = client.post("/v1/comparisons", json=REQUEST)
        assert second.status_code == 202 and second.json()["id"] != first["id"]
        assert wait(client, second.json()["id"], {"done"})["progress"]["total"] == 6


def test_cancel_then_resubmit_resumes(tmp_path: Path, backends: Backends) -> None:
    app = create_app(settings(tmp_path, item_concurrency=1), transport=backends.transport())
    with TestClient(app) as client:
        cancel_then_resume(client, backends)


def cancel_then_resume(client: TestClient, backends: Backends) -> None:
    backends.delay_s = 0.05
    job = client.post("/v1/comparisons", json=REQUEST).json()
    poll(
        lambda: client.get(f"/v1/comparisons/{job['id']}").json(),
        lambda view: view["progress"]["done"] >= 2,
        timeout_s=20,
        what="2 items done",
    )
    cancelled = client.delete(f"/v1/comparisons/{job['id']}").json()
    assert cancelled["status"] == "cancelled"
    kept = cancelled["progress"]["done"]
    assert 2 <= kept < 12
    time.sleep(0.2)
    assert client.get(f"/v1/comparisons/{job['id']}").json()["progress"]["done"] == kept

    backends.delay_s = 0.0
    assert client.post("/v1/comparisons", json=REQUEST).status_code == 200
    done = wait(client, job["id"], {"done"})
    assert done["summary"]["score"] == pytest.approx(expected_score(SPANISH))
    assert max(backends.judgments.values()) == 1  # no presentation judged twice


def test_explicit_instructions(client: TestClient) -> None:
    body = REQUEST | {
        "instructions": [
            {"id": "a", "text": "Say something long, please."},
            {"id": "b", "text": "Hi"},
        ]
    }
    job = client.post("/v1/comparisons", json=body).json()
    done = wait(client, job["id"], {"done"})
    assert done["progress"] == {"done": 2, "total": 2}
    items = client.get(f"/v1/comparisons/{job['id']}/items").json()["items"]
    assert [i["outcome"] for i in items] == [expected_outcome(i["instruction"]) for i in items]


def test_empty_answers_are_judged_and_counted_per_side(
    client: TestClient, backends: Backends
) -> None:
    job = client.post("/v1/comparisons", json=REQUEST | {"model_b": "mute"}).json()
    done = wait(client, job["id"], {"done", "failed"})
    assert done["status"] == "done", done
    summary = done["summary"]
    # the fake judge prefers the longer answer: every non-empty answer beats an empty one
    assert (summary["empty_a"], summary["empty_b"], summary["wins"]) == (0, 12, 12)
    assert sum(backends.judgments.values()) == 24  # judged as they are, both orders
    items = client.get(f"/v1/comparisons/{job['id']}/items").json()["items"]
    assert all(item["response_b"] == "" for item in items)


def test_identical_items_in_flight_are_judged_once(client: TestClient, backends: Backends) -> None:
    backends.delay_s = 0.02  # a judge that takes time: the copies overlap
    same = [{"id": str(i), "text": "Name a colour."} for i in range(8)]
    job = client.post("/v1/comparisons", json=REQUEST | {"instructions": same}).json()
    done = wait(client, job["id"], {"done", "failed"})
    assert done["status"] == "done" and done["progress"]["done"] == 8
    assert sum(backends.judgments.values()) == 2  # one call per order for the eight copies


def test_identical_judgment_requests_at_once_make_one_call_per_order(
    client: TestClient, backends: Backends
) -> None:
    """20 concurrent identical POST /v1/judgments (the reliability probe made 40 calls)."""
    backends.delay_s = 0.2  # each judge call takes a while: the requests overlap
    body = {"instruction": "Name a fruit.", "response_a": "A banana.", "response_b": "No."}
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: client.post("/v1/judgments", json=body), range(20)))
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.json()["outcome"] for answer in answers}) == 1
    assert sum(backends.judgments.values()) == 2
