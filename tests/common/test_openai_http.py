"""The HTTP client's promises on a real loopback socket: a try has a deadline (a server that
drips a byte at a time cannot hold it), and user-info in a URL is never sent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from common.errors import EndpointUnavailableError
from common.openai_http import ClientSettings, OpenAIHttp, RetryPolicy
from tests.loopback import serving

ONE_TRY = RetryPolicy(max_attempts=1)


def dripping_app(seen: list[str | None]) -> Starlette:
    async def drip(request: Request) -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            yield b"{"
            for _ in range(100):  # 30 s at most: a byte every 0.3 s, each read well in time
                await asyncio.sleep(0.3)
                yield b" "

        return StreamingResponse(body(), media_type="application/json")

    async def answer(request: Request) -> JSONResponse:
        seen.append(request.headers.get("authorization"))
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/v1/drip", drip, methods=["POST"]),
                             Route("/v1/answer", answer, methods=["POST"])])  # fmt: skip


def test_a_server_that_drips_bytes_is_cut_at_the_deadline() -> None:
    with serving(dripping_app([])) as url:
        http = OpenAIHttp(ClientSettings(timeout_s=1.5, retry=ONE_TRY))

        async def call() -> None:
            try:
                await http.post([f"{url}/drip"], {"prompt": "x"})
            finally:
                await http.aclose()

        with pytest.raises(EndpointUnavailableError) as failure:
            asyncio.run(call())
    assert failure.value.reason == "timed out after 1.5 s"


def test_user_info_is_never_sent_and_the_key_goes_as_bearer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str | None] = []
    with serving(dripping_app(seen)) as url:
        with_userinfo = url.replace("http://", "http://user:pw@")
        http = OpenAIHttp(ClientSettings(retry=ONE_TRY, api_key="k"))

        async def calls() -> None:
            for _ in range(2):
                assert await http.post([f"{with_userinfo}/answer"], {}) == {"ok": True}
            await http.aclose()

        with caplog.at_level(logging.WARNING, logger="common.openai_http"):
            asyncio.run(calls())
    assert seen == ["Bearer k", "Bearer k"]  # httpx would have sent Basic user:pw
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "pw" not in warnings[0]
    assert "its api_key as a Bearer token" in warnings[0]
    assert httpx.URL(with_userinfo).userinfo  # the URL given did carry it
