"""A scripted judge that speaks the OpenAI wire format, as an httpx handler or an ASGI app.

Both use the same policy (by default: prefer the longer answer, Answer1 on equal length) and
the same response bodies as vLLM's /v1/completions and /v1/chat/completions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import httpx

Policy = Callable[[str], str]


class Rejected(Exception):  # noqa: N818 (named for what the server does)
    """Raised by a policy: the server answers HTTP 400, as vLLM does for a bad request."""


def answers_in(prompt: str) -> tuple[str, str]:
    """Answer1 and Answer2 of a prompt rendered from the paper's template."""
    _, rest = prompt.split("\nAnswer1:\n", 1)
    first, rest = rest.split("\nAnswer2:\n", 1)
    second, _ = rest.rsplit("\nWhich one is better", 1)
    return first, second


def is_judge_prompt(prompt: str) -> bool:
    """Whether `prompt` shows two answers (a health probe asks for one token of anything)."""
    return "\nAnswer1:\n" in prompt


def prefer_longer(prompt: str) -> str:
    """'1' when Answer1 is at least as long as Answer2, else '2' ('1' to a probe)."""
    if not is_judge_prompt(prompt):
        return "1"
    first, second = answers_in(prompt)
    return "1" if len(first) >= len(second) else "2"


def _prompt_of(body: dict[str, Any]) -> str:
    if "messages" in body:
        return str(body["messages"][-1]["content"])
    return str(body["prompt"])


def _top(text: str) -> list[tuple[str, float]]:
    other = "2" if text == "1" else "1"
    return [(text, math.log(0.8)), (other, math.log(0.15)), ("\n", math.log(0.05))]


def openai_response(
    body: dict[str, Any], policy: Policy = prefer_longer, finish_reason: str = "length"
) -> dict[str, Any]:
    """The body vLLM would answer `body` with, the text chosen by `policy`."""
    text = policy(_prompt_of(body))
    chat = "messages" in body
    choice: dict[str, Any] = {"index": 0, "finish_reason": finish_reason, "logprobs": None}
    top = _top(text)
    if chat:
        choice["message"] = {"role": "assistant", "content": text}
        if body.get("logprobs"):
            entries = [{"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in top]
            choice["logprobs"] = {
                "content": [{"token": text, "logprob": top[0][1], "top_logprobs": entries}]
            }
    else:
        choice["text"] = text
        if body.get("logprobs"):
            choice["logprobs"] = {
                "tokens": [text],
                "token_logprobs": [top[0][1]],
                "top_logprobs": [dict(top)],
                "text_offset": [0],
            }
    return {
        "id": "cmpl-stub",
        "object": "chat.completion" if chat else "text_completion",
        "created": 0,
        "model": body.get("model", "stub"),
        "choices": [choice],
        "usage": stub_usage(body, text),
    }


def stub_usage(body: dict[str, Any], text: str) -> dict[str, int]:
    """The stub's token counts: a token per whitespace-separated word of the prompt, one per
    character of the answer (what the tests check token accounting against)."""
    prompt_tokens = len(_prompt_of(body).split())
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": len(text),
        "total_tokens": prompt_tokens + len(text),
    }


def mock_handler(policy: Policy = prefer_longer) -> Callable[[httpx.Request], httpx.Response]:
    """An `httpx.MockTransport` handler answering both endpoints."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path not in ("/v1/completions", "/v1/chat/completions"):
            return httpx.Response(404, json={"error": {"message": "not found"}})
        return httpx.Response(200, json=openai_response(json.loads(request.content), policy))

    return handle


def create_app(
    policy: Policy = prefer_longer,
    finish_reason: str = "length",
    models: tuple[str, ...] = ("judge",),
    tokenized: list[str] | None = None,
) -> Any:
    """The same judge as an ASGI app, for uvicorn on loopback; /v1/models lists `models`;
    every prompt /tokenize counts is appended to `tokenized` when given."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def complete(request: Request) -> JSONResponse:
        try:
            return JSONResponse(openai_response(await request.json(), policy, finish_reason))
        except RuntimeError as error:  # a scripted outage
            return JSONResponse({"error": {"message": str(error)}}, status_code=503)
        except Rejected as error:
            return JSONResponse({"error": {"message": str(error)}}, status_code=400)

    async def listing(request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": name} for name in models]})

    async def tokenize(request: Request) -> JSONResponse:  # vLLM's /tokenize, the stub's count
        prompt = _prompt_of(await request.json())
        if tokenized is not None:
            tokenized.append(prompt)
        count = len(prompt.split())
        return JSONResponse({"count": count, "max_model_len": 8192, "tokens": list(range(count))})

    routes = [
        Route("/tokenize", tokenize, methods=["POST"]),
        Route("/v1/models", listing, methods=["GET"]),
        Route("/v1/completions", complete, methods=["POST"]),
        Route("/v1/chat/completions", complete, methods=["POST"]),
    ]
    return Starlette(routes=routes)
