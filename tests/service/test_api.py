"""The comparison API through the real app, a temporary SQLite file and protocol-true fakes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from generators.eval_sets import read_eval_set
from service.app import create_app
from service.settings import SAMPLE_EVAL_SET
from tests.polling import poll
from tests.service.fakes import Backends, expected_outcome, settings

SPANISH = [item.text["es"] for item in read_eval_set(SAMPLE_EVAL_SET)]
REQUEST = {"model_a": "good", "model_b": "bad", "language": "es"}


@pytest.fixture
def backends() -> Backends:
    return Backends()


@pytest.fixture
def client(tmp_path: Path, backends: Backends) -> Iterator[TestClient]:
    app = create_app(settings(tmp_path), transport=backends.transport())
    with TestClient(app) as client:
        yield client


def wait(client: TestClient, job_id: str, until: set[str], timeout_s: float = 30) -> dict[str, Any]:
    return dict(
        poll(
            lambda: client.get(f"/v1/comparisons/{job_id}").json(),
            lambda view: view["status"] in until,
            timeout_s=timeout_s,
            what=f"comparison {job_id} in {sorted(until)}",
        )
    )


def expected_score(instructions: list[str]) -> float:
    points = {"win": 1.0, "tie": 0.5, "loss": 0.0}
    return 100 * sum(points[expected_outcome(i)] for i in instructions) / len(instructions)


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


def test_auth(tmp_path: Path, backends: Backends) -> None:
    app = create_app(settings(tmp_path, token="s3cret"), transport=backends.transport())
    with TestClient(app) as client:
        refused = client.get("/v1/models")
        assert refused.status_code == 401
        assert refused.json()["error"]["type"] == "unauthorized"
        assert refused.headers["www-authenticate"] == "Bearer"
        wrong = client.get("/v1/models", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = client.get("/v1/models", headers={"Authorization": "Bearer s3cret"})
        assert right.status_code == 200
        assert client.get("/healthz").status_code == 200  # probes stay open


def test_auth_off_and_the_registry_views(client: TestClient) -> None:
    models = client.get("/v1/models").json()
    assert [(m["name"], m["adapter"]) for m in models] == [
        ("base", False),
        ("good", True),
        ("bad", True),
        ("mute", True),
        ("null", True),
    ]
    (sample,) = client.get("/v1/eval-sets").json()
    assert sample == {
        "id": "sample",
        "items": 12,
        "languages": ["en", "es", "fi", "hi", "ru", "zh"],
    }
    health = client.get("/healthz").json()
    assert health == {
        "status": "ok",
        "store": "ok",
        "generators": {"http://gen.test/v1": "ok"},
        "judges": {"llm": "ok", "reference": "local"},
    }


def test_judging_given_responses(client: TestClient, backends: Backends) -> None:
    body = {
        "instruction": "Name a fruit.",
        "response_a": "A banana is a fruit.",
        "response_b": "No.",
    }
    result = client.post("/v1/judgments", json=body).json()
    assert (result["outcome"], result["score"], result["identical"]) == ("win", 1.0, False)
    assert (result["ab"]["verdict"], result["ba"]["verdict"]) == ("1", "2")
    assert client.post("/v1/judgments", json=body).json() == result
    assert sum(backends.judgments.values()) == 2  # the second answer came from the store
    same = client.post("/v1/judgments", json=body | {"response_b": body["response_a"]}).json()
    assert (same["outcome"], same["identical"], same["ab"]) == ("tie", True, None)
    reference = client.post(
        "/v1/judgments", json=body | {"judge": "reference", "reference": "A banana is a fruit."}
    ).json()
    assert reference["outcome"] == "win"


@pytest.mark.parametrize(
    ("body", "status", "kind", "field", "message"),
    [
        (
            REQUEST | {"model_a": "fr"},
            422,
            "unknown_model",
            "model_a",
            "model 'fr' is not in the registry (known: base, good, bad, mute, null)",
        ),
        (
            REQUEST | {"language": "sw"},
            422,
            "unknown_language",
            "language",
            "eval set 'sample' has no 'sw' instructions (it has: en, es, fi, hi, ru, zh)",
        ),
        (
            REQUEST | {"model_b": "good"},
            422,
            "invalid_request",
            None,
            "model_a and model_b are the same model",
        ),
        (
            REQUEST | {"instructions": []},
            422,
            "invalid_request",
            "instructions",
            "List should have at least 1 item",
        ),
        (REQUEST | {"language": 7}, 422, "invalid_request", "language", "valid string"),
        (REQUEST | {"language": "Spanish"}, 422, "invalid_request", "language", "should match"),
        (
            REQUEST | {"eval_set": "lima"},
            404,
            "unknown_eval_set",
            "eval_set",
            "eval set 'lima' is not registered (sample)",
        ),
        (REQUEST | {"item_ids": ["1", "99"]}, 422, "unknown_item", "item_ids", "no item '99'"),
        (REQUEST | {"judge": "gpt"}, 422, "unknown_judge", "judge", "judge 'gpt' is not"),
        (REQUEST | {"colour": "red"}, 422, "invalid_request", "colour", "Extra inputs"),
        ({"model_a": "good"}, 422, "invalid_request", "model_b", "Field required"),
        (
            REQUEST | {"instructions": [{"id": "1", "text": "a"}, {"id": "1", "text": "b"}]},
            422,
            "duplicate_id",
            "instructions",
            "instruction ids must be unique",
        ),
    ],
)
def test_bad_requests_get_a_message_a_person_can_act_on(
    client: TestClient,
    body: dict[str, Any],
    status: int,
    kind: str,
    field: str | None,
    message: str,
) -> None:
    response = client.post("/v1/comparisons", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["type"], error["field"]) == (kind, field)
    assert message in error["message"]


def test_oversized_and_malformed_bodies(tmp_path: Path, backends: Backends) -> None:
    app = create_app(settings(tmp_path, max_body_bytes=2048), transport=backends.transport())
    with TestClient(app) as client:
        big = REQUEST | {"instructions": [{"id": str(i), "text": "x" * 100} for i in range(40)]}
        response = client.post("/v1/comparisons", json=big)
        assert response.status_code == 413
        assert response.json()["error"]["type"] == "body_too_large"
        chunked = client.post(
            "/v1/comparisons",
            content=iter([json.dumps(big).encode()]),
            headers={"content-type": "application/json"},
        )
        assert chunked.status_code == 413
        broken = client.post(
            "/v1/comparisons", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert broken.status_code == 422
        assert broken.json()["error"]["type"] == "invalid_request"
        missing = client.get("/v1/comparisons/nope")
        assert missing.status_code == 404
        assert missing.json()["error"] == {
            "type": "unknown_comparison",
            "message": "no comparison job 'nope'",
            "field": "id",
        }


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


def test_a_backend_that_fails_sometimes_slows_but_loses_nothing(
    client: TestClient, backends: Backends
) -> None:
    backends.fail_every = 4  # every 4th call answers 503
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


def test_health_says_which_backend_is_down(client: TestClient, backends: Backends) -> None:
    backends.down = {"gen.test"}
    health = client.get("/healthz").json()
    assert health["status"] == "degraded"
    assert health["generators"] == {"http://gen.test/v1": "unreachable: ConnectError"}
    assert health["judges"] == {"llm": "ok", "reference": "local"}


def test_judgment_errors_are_4xx_or_502_never_500(client: TestClient, backends: Backends) -> None:
    body = {"instruction": "Name a fruit.", "response_a": "A banana.", "response_b": "No."}
    blank = client.post("/v1/judgments", json=body | {"instruction": "   "})
    assert blank.status_code == 422
    assert blank.json()["error"]["message"] == "instruction: is blank; it needs some text"
    no_reference = client.post("/v1/judgments", json=body | {"judge": "reference"})
    assert no_reference.status_code == 422
    assert no_reference.json()["error"]["type"] == "missing_reference"
    backends.down = {"judge.test"}
    down = client.post("/v1/judgments", json=body)
    assert down.status_code == 502
    assert "judge endpoint http://judge.test/v1/completions" in down.json()["error"]["message"]
    text = REQUEST | {"instructions": [{"id": "1", "text": "\n"}]}
    assert client.post("/v1/comparisons", json=text).json()["error"]["field"] == (
        "instructions.0.text"
    )


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
    assert new.status_code == 422
    assert failed["status"] == "failed"
    assert failed["error"] == new.json()["error"]["message"]
    assert failed["error"].startswith("model 'bad' is not in the registry")
    assert not fresh.judgments
