"""Consistency jobs through the API: durable, idempotent, resumable; bad requests named."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from tests.polling import poll
from tests.service.consistency_expectations import expected_good, expected_hashed
from tests.service.fakes import Backends, settings


@pytest.fixture
def backends() -> Backends:
    return Backends()


@pytest.fixture
def client(tmp_path: Path, backends: Backends) -> Iterator[TestClient]:
    # one item at a time (its four languages at once), so a job can be caught half-way
    service = create_app(settings(tmp_path, item_concurrency=1), transport=backends.transport())
    with TestClient(service) as client:
        yield client


def wait(client: TestClient, job_id: str, until: set[str]) -> dict[str, Any]:
    return dict(
        poll(
            lambda: client.get(f"/v1/consistency/{job_id}").json(),
            lambda view: view["status"] in until,
            timeout_s=30,
            what=f"consistency job {job_id} in {sorted(until)}",
        )
    )


REQUEST = {"models": ["good", "bad"], "s": 2}


def test_a_consistency_job_is_durable_idempotent_and_resumable(
    client: TestClient, backends: Backends
) -> None:
    backends.delay_s = 0.005
    submitted = client.post("/v1/consistency", json=REQUEST)
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    assert job["progress"]["total"] == 2 * 31
    poll(
        lambda: client.get(f"/v1/consistency/{job['id']}").json(),
        lambda view: view["progress"]["done"] >= 10,
        timeout_s=30,
        what="10 units answered",
    )
    backends.down = {"gen.test"}
    failed = wait(client, job["id"], {"failed"})
    assert "gen.test" in failed["error"]
    asked_before = sum(backends.mcq.values())
    done_before = failed["progress"]["done"]
    assert 10 <= done_before < 62

    backends.down = set()
    again = client.post("/v1/consistency", json=REQUEST)
    assert again.status_code == 200 and again.json()["id"] == job["id"]
    done = wait(client, job["id"], {"done"})
    assert done["progress"] == {"done": 62, "total": 62}
    # resumed: the stored units were not asked again (only requests in flight at the failure)
    assert sum(backends.mcq.values()) - asked_before <= (62 - done_before) * 4 + 8
    assert max(backends.mcq.values()) <= 2
    assert done["report"]["good"] == expected_good(2)
    accuracy, consistency = expected_hashed("bad", 2)
    assert done["report"]["bad"]["accuracy"] == pytest.approx(accuracy)
    assert done["report"]["bad"]["consistency"] == pytest.approx(consistency)

    asked = sum(backends.mcq.values())
    repeat = client.post("/v1/consistency", json=REQUEST)
    assert repeat.status_code == 200 and repeat.json()["report"] == done["report"]
    assert sum(backends.mcq.values()) == asked  # a finished job costs nothing


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"models": ["ghost"]}, 404, "model 'ghost' is not in the registry"),
        ({"models": ["good"], "s": 5}, 409, "s = 5 needs"),
        ({"models": ["good"], "languages": ["en", "sw"]}, 404, "the set has no 'sw'"),
        ({"models": ["good"], "reference_accuracy": 0.2}, 409, "must exceed chance 0.25"),
        ({"models": ["good"], "mcq_set": "mmlu"}, 404, "set 'mmlu' is not registered"),
        ({"models": ["good", "good"]}, 422, "models repeat an entry"),
    ],
)
def test_bad_consistency_requests(
    client: TestClient, backends: Backends, body: dict[str, Any], status: int, message: str
) -> None:
    response = client.post("/v1/consistency", json=body)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]
    assert not backends.mcq


def test_job_kinds_do_not_mix(client: TestClient) -> None:
    comparison = client.post(
        "/v1/comparisons", json={"model_a": "good", "model_b": "bad", "language": "es"}
    ).json()
    missing = client.get(f"/v1/consistency/{comparison['id']}")
    assert missing.status_code == 404
    assert client.get("/v1/mcq-sets").json() == [
        {"id": "sample", "items": 31, "languages": ["en", "es", "fi", "ru"]}
    ]
