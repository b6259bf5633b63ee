"""No credential leaves the service, and a slow backend cannot hold a check: `/v1/models` masks
user-info in endpoints, requests never carry it (the configured key goes as a Bearer token),
`/openapi.json` asks for the token, and a judge that does not answer a probe is reported
after the checker's short timeout, not the judge's own."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from service.app import create_app
from tests.service.comparison_api import REQUEST, wait
from tests.service.fakes import Backends, settings, write_registry

TOKEN = {"Authorization": "Bearer s3cret"}


class Recording(httpx.AsyncBaseTransport):
    """The fakes, with the URL and Authorization header of every request kept."""

    def __init__(self, backends: Backends) -> None:
        self.inner = backends.transport()
        self.seen: list[tuple[str, str | None]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((str(request.url), request.headers.get("authorization")))
        return await self.inner.handle_async_request(request)


def test_endpoint_credentials_are_never_shown_nor_sent(tmp_path: Path, backends: Backends) -> None:
    text = write_registry(tmp_path).read_text(encoding="utf-8")
    registry = tmp_path / "with-credentials.toml"
    registry.write_text(text.replace("http://gen.test", "http://user:pw@gen.test"), "utf-8")
    assert "user:pw@" in registry.read_text(encoding="utf-8")
    recording = Recording(backends)
    values = settings(tmp_path, registry=registry, generator_api_key="gen-key")
    with TestClient(create_app(values, transport=recording)) as client:
        models = client.get("/v1/models")
        assert models.status_code == 200 and "pw" not in models.text
        assert models.json()[0]["endpoints"] == ["http://***@gen.test/v1"]
        job = client.post("/v1/comparisons", json=REQUEST).json()
        wait(client, job["id"], {"done"})
    to_generator = [seen for seen in recording.seen if "gen.test" in seen[0]]
    assert to_generator and all("@" not in url for url, _ in to_generator)
    posts = [auth for url, auth in to_generator if url.endswith("/chat/completions")]
    assert posts and set(posts) == {"Bearer gen-key"}  # never Basic user:pw


def test_the_openapi_document_asks_for_the_token(tmp_path: Path, backends: Backends) -> None:
    values = settings(tmp_path, token="s3cret")
    with TestClient(create_app(values, transport=backends.transport())) as client:
        assert client.get("/openapi.json").status_code == 401
        assert client.get("/docs").status_code == 401
        document = client.get("/openapi.json", headers=TOKEN)
        assert document.status_code == 200 and "/v1/comparisons" in document.json()["paths"]
    public = settings(tmp_path, token="s3cret", openapi_public=True)
    with TestClient(create_app(public, transport=backends.transport())) as client:
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/v1/models").status_code == 401  # the API itself still asks


def test_a_judge_that_never_answers_its_probe_is_reported_after_the_checks_timeout(
    tmp_path: Path, backends: Backends
) -> None:
    values = settings(tmp_path, health_cache_s=0)  # the judge's own timeout_s: 60 s
    with TestClient(create_app(values, transport=backends.transport())) as client:
        backends.delay_s = 120.0  # every backend holds each request for two minutes
        health = client.get("/v1/health").json()
    assert health["status"] == "degraded"
    assert health["judges"]["llm"] == "error: no answer within 2 s"
    assert health["generators"] == {"http://gen.test/v1": "unreachable: no answer within 2 s"}
