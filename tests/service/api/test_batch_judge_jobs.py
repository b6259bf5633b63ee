"""A comparison judged through a provider's Batch API (`tests.batch_server`) in the real app:
while the batch runs, the job's view says what it waits on; a service stopped then started on
the same store polls the same batch (no new one) and finishes with the scores and the token
costs the provider reported."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from judges.backends.batch_config import BatchJudgeConfig
from service.app import create_app
from tests.batch_server import FakeBatchServer
from tests.polling import poll
from tests.service.comparison_api import REQUEST, SPANISH, expected_score, wait
from tests.service.fakes import Backends, settings


class Both(httpx.AsyncBaseTransport):
    """The fake generator (and online judge) beside the fake batch provider."""

    def __init__(self, backends: Backends, provider: FakeBatchServer) -> None:
        self.backends, self.provider = backends, provider

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "batch.test":
            return await self.provider.handle_async_request(request)
        return await self.backends.handle(request)


def test_a_job_waits_on_its_batch_and_resumes_polling_it_after_a_restart(tmp_path: Path) -> None:
    provider, backends = FakeBatchServer(), Backends()
    provider.hold = True
    judge = BatchJudgeConfig(
        base_url="http://batch.test/v1", model="judge", collect_s=0.05, poll_s=0.02,
        prices={"prompt_per_million": 1.25, "completion_per_million": 5.0},
    )  # fmt: skip
    service = settings(tmp_path, judges={"batch": judge}, default_judge="batch")
    transport = Both(backends, provider)

    with TestClient(create_app(service, transport)) as client:
        job = client.post("/v1/comparisons", json=REQUEST).json()
        view = poll(
            lambda: client.get(f"/v1/comparisons/{job['id']}").json(),
            lambda view: any("in_progress" in line for line in view["waiting_on"]),
            timeout_s=30,
            what="the job waiting on its batch",
        )
        assert view["status"] == "running" and view["progress"]["done"] == 0
        (batch_id,) = provider.batches
        assert view["waiting_on"][0].startswith(f"judge batch {batch_id}: in_progress")

    provider.hold = False
    with TestClient(create_app(service, transport)) as client:
        done = wait(client, job["id"], {"done", "failed"})
    assert done["status"] == "done", done["error"]
    assert list(provider.batches) == [batch_id]  # the same batch, polled again
    assert done["summary"]["score"] == pytest.approx(expected_score(SPANISH))
    usage = done["summary"]["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (
        provider.tokens["prompt"], provider.tokens["completion"])  # fmt: skip
    cost = (provider.tokens["prompt"] * 1.25 + provider.tokens["completion"] * 5.0) / 1e6
    assert done["judge_cost"] == pytest.approx(cost)
    assert done["waiting_on"] == []
    assert not backends.judge_calls  # no online judge call


def test_the_synchronous_route_refuses_a_batch_judge_at_once(tmp_path: Path) -> None:
    """POST /v1/judgments answers now; a batch may take the provider hours: 409 naming the
    asynchronous route, and nothing sent to the provider."""
    provider, backends = FakeBatchServer(), Backends()
    judge = BatchJudgeConfig(base_url="http://batch.test/v1", model="judge", collect_s=0.05)
    service = settings(tmp_path, judges={"batch": judge}, default_judge="batch")
    body = {"instruction": "Say hi.", "response_a": "Hi!", "response_b": "Bye.", "judge": "batch"}
    with TestClient(create_app(service, Both(backends, provider))) as client:
        answer = client.post("/v1/judgments", json=body)
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["type"] == "batch_judge" and error["field"] == "judge"
    assert "POST /v1/comparisons" in error["message"]
    assert not provider.batches and not provider.files
