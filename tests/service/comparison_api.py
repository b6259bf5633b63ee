"""What the comparison API tests share: the request, waiting for a job with a deadline, and
the score the fakes imply, derived independently of the service."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from generators.eval_sets import read_eval_set
from service.settings import SAMPLE_EVAL_SET
from tests.polling import poll
from tests.service.fakes import expected_outcome

SPANISH = [item.text["es"] for item in read_eval_set(SAMPLE_EVAL_SET)]
REQUEST = {"model_a": "good", "model_b": "bad", "language": "es"}


def wait(client: TestClient, job_id: str, until: set[str], timeout_s: float = 30) -> dict[str, Any]:
    """The comparison's view once its status is in `until`; fails with its state otherwise."""
    return dict(
        poll(
            lambda: client.get(f"/v1/comparisons/{job_id}").json(),
            lambda view: view["status"] in until,
            timeout_s=timeout_s,
            what=f"comparison {job_id} in {sorted(until)}",
        )
    )


def wait_for_items(client: TestClient, job_id: str, count: int) -> dict[str, Any]:
    """The comparison's view once at least `count` of its items are stored."""
    return dict(
        poll(
            lambda: client.get(f"/v1/comparisons/{job_id}").json(),
            lambda view: view["progress"]["done"] >= count,
            what=f"{count} items of comparison {job_id} stored",
        )
    )


def expected_score(instructions: list[str]) -> float:
    """The discounted-tie score 'good' gets against 'bad' under the fake judge."""
    points = {"win": 1.0, "tie": 0.5, "loss": 0.0}
    return 100 * sum(points[expected_outcome(i)] for i in instructions) / len(instructions)
