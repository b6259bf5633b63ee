"""The API's edges: the token, the registry views and health, judging given responses, and
every bad request answered with a message a person can act on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from judges.backends.openai import OpenAIJudgeConfig
from service.app import create_app
from tests.service.comparison_api import REQUEST, wait
from tests.service.fakes import Backends, settings


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
        assert client.get("/healthz").status_code == 200  # liveness stays open
        assert client.get("/v1/health").status_code == 401  # the backend check makes calls


def test_auth_off_and_the_registry_views(client: TestClient) -> None:
    models = client.get("/v1/models").json()
    assert [(m["name"], m["adapter"]) for m in models] == [
        ("base", False),
        ("good", True),
        ("bad", True),
        ("mute", True),
        ("null", True),
        ("spanish", True),
        ("wanderer", True),
        ("chinese", True),
    ]
    (sample,) = client.get("/v1/eval-sets").json()
    assert sample == {
        "id": "sample",
        "items": 12,
        "languages": ["en", "es", "fi", "hi", "ru", "zh"],
    }
    assert client.get("/healthz").json() == {"status": "ok", "store": "ok"}
    health = client.get("/v1/health").json()
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
            404,
            "unknown_model",
            "model_a",
            "model 'fr' is not in the registry (known: base, good, bad, mute, null, spanish, "
            "wanderer, chinese)",
        ),
        (
            REQUEST | {"language": "sw"},
            404,
            "unknown_language",
            "language",
            "eval set 'sample' has no 'sw' instructions (it has: en, es, fi, hi, ru, zh)",
        ),
        (
            REQUEST | {"model_b": "good"},
            409,
            "same_model",
            "model_b",
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
        (REQUEST | {"item_ids": ["1", "99"]}, 404, "unknown_item", "item_ids", "no item '99'"),
        (REQUEST | {"judge": "gpt"}, 404, "unknown_judge", "judge", "judge 'gpt' is not"),
        (REQUEST | {"colour": "red"}, 422, "invalid_request", "colour", "Extra inputs"),
        (
            REQUEST | {"item_ids": ["1"], "instructions": [{"id": "a", "text": "Hi."}]},
            422,
            "invalid_request",
            None,
            "give item_ids (a subset of the eval set) or instructions, not both",
        ),
        ({"model_a": "good"}, 422, "invalid_request", "model_b", "Field required"),
        (
            REQUEST | {"instructions": [{"id": "1", "text": "a"}, {"id": "1", "text": "b"}]},
            409,
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


def test_health_says_which_backend_is_down(tmp_path: Path, backends: Backends) -> None:
    service = create_app(settings(tmp_path, health_cache_s=0), transport=backends.transport())
    with TestClient(service) as client:
        backends.down = {"gen.test"}
        health = client.get("/v1/health").json()
        assert health["status"] == "degraded"
        assert health["generators"] == {"http://gen.test/v1": "unreachable: ConnectError"}
        assert health["judges"] == {"llm": "ok", "reference": "local"}
        assert client.get("/healthz").json() == {"status": "ok", "store": "ok"}  # alive


def test_a_judge_whose_completions_fail_is_not_ok(tmp_path: Path, backends: Backends) -> None:
    """It lists its models (GET /models answers 200), but it cannot judge: the check asks it
    for one token, which is what proves it can."""
    backends.fail_every = 1  # every call answers 503, GETs included
    service = create_app(settings(tmp_path, health_cache_s=0), transport=backends.transport())
    with TestClient(service) as client:
        judges = client.get("/v1/health").json()["judges"]
    assert judges["llm"].startswith("error: http://judge.test/v1/completions failed after 1")
    assert "HTTP 503" in judges["llm"]
    assert judges["reference"] == "local"


def test_liveness_is_cheap_and_the_backend_check_is_cached(
    client: TestClient, backends: Backends
) -> None:
    for _ in range(20):
        assert client.get("/healthz").status_code == 200
    assert sum(backends.judgments.values()) == 0 and not backends.generations  # no call out
    calls = backends.calls
    for _ in range(20):
        assert client.get("/v1/health").json()["status"] == "ok"
    assert backends.calls - calls == 2  # one round within the cache's 5 s: /models + one token


def test_judgment_errors_are_4xx_or_502_never_500(client: TestClient, backends: Backends) -> None:
    body = {"instruction": "Name a fruit.", "response_a": "A banana.", "response_b": "No."}
    blank = client.post("/v1/judgments", json=body | {"instruction": "   "})
    assert blank.status_code == 422
    assert blank.json()["error"]["message"] == "instruction: is blank; it needs some text"
    no_reference = client.post("/v1/judgments", json=body | {"judge": "reference"})
    assert no_reference.status_code == 409
    assert no_reference.json()["error"]["type"] == "missing_reference"
    backends.down = {"judge.test"}
    down = client.post("/v1/judgments", json=body)
    assert down.status_code == 502
    assert "judge endpoint http://judge.test/v1/completions" in down.json()["error"]["message"]
    text = REQUEST | {"instructions": [{"id": "1", "text": "\n"}]}
    assert client.post("/v1/comparisons", json=text).json()["error"]["field"] == (
        "instructions.0.text"
    )


def test_an_offset_past_any_store_is_refused_not_a_server_error(client: TestClient) -> None:
    """Found by the stateful contract test: an offset over SQLite's 64-bit integers was a 500."""
    job = client.post("/v1/comparisons", json=REQUEST).json()
    huge = client.get(f"/v1/comparisons/{job['id']}/items", params={"offset": 2**80})
    assert huge.status_code == 422, huge.text
    assert huge.json()["error"]["field"] == "query.offset"
    largest = client.get(f"/v1/comparisons/{job['id']}/items", params={"offset": 2**31})
    assert largest.status_code == 200 and largest.json()["items"] == []


def test_credentials_in_backend_urls_are_never_echoed(tmp_path: Path) -> None:
    """No answer, job error or health report shows the credentials, and no request carries
    them (httpx would send them as Basic auth)."""
    backends = Backends()
    seen: list[str] = []
    inner = backends.transport()

    class Recording(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(request.headers.get("authorization", ""))
            return await inner.handle_async_request(request)

    registry = tmp_path / "secret.toml"
    registry.write_text(
        'base_model = "tiny"\nendpoints = ["http://user:s3cret@gen.test/v1"]\n'
        '[adapters]\ngood = "g"\nbad = "b"\n',
        "utf-8",
    )
    judge = OpenAIJudgeConfig(
        base_url="http://user:s3cret@judge.test/v1", model="judge", max_attempts=1
    )
    config = settings(tmp_path, registry=registry, judges={"llm": judge})
    with TestClient(create_app(config, transport=Recording())) as client:
        health = client.get("/v1/health").text
        backends.down = {"judge.test"}
        failed_judgment = client.post(
            "/v1/judgments", json={"instruction": "Hi?", "response_a": "a", "response_b": "bb"}
        )
        job = client.post("/v1/comparisons", json=REQUEST).json()
        failed_job = wait(client, job["id"], {"failed", "done"})
    assert failed_judgment.status_code == 502 and failed_job["status"] == "failed"
    for shown in (health, failed_judgment.text, failed_job["error"]):
        assert "s3cret" not in shown and "***@" in shown, shown
    assert seen and not any(auth.startswith("Basic") for auth in seen)  # user:s3cret not sent
