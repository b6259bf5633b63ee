"""Units as the requests the service itself would send, and answers read as it reads them.

A generation is the body `Generator` posts (`generation_body`), sent to one of the model's
replicas (chosen by the unit's key, so a rerun sends a unit where it went before); a judge call
is the body the `openai` judge posts (`judge_request`), read by `reply_of`. An answer without
what it must hold is a `Failure`, never a stored result.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

from common.completions import completion_path
from common.openai_http import ClientSettings, MalformedAnswerError, RetryPolicy, join_url
from generators.cache import StoredGeneration
from generators.client import generation_body, parse_generation
from generators.registry import PromptFormat, Registry
from judges.backends.base import JudgeReply
from judges.backends.openai import ApiKind, JudgeModelConfig, judge_request, reply_of
from judges.sxs import paid_together
from service.plans.units import GenerationUnit, JudgmentUnit


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One POST: where, with which headers, what, and how patiently (the endpoint's own
    settings: seconds per try, an overall deadline; its retry policy)."""

    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    timeout_s: float
    retry: RetryPolicy


@dataclass(frozen=True, slots=True)
class Failure:
    """A unit that has no result, and why."""

    what: str
    reason: str


def generation_request(
    registry: Registry, unit: GenerationUnit, client: ClientSettings
) -> HttpRequest:
    """The POST of a generation unit, with the service's generator client settings."""
    model = registry.served(unit.request.model)
    path = completion_path(registry.prompt_format is PromptFormat.CHAT)
    url = join_url(_replica(model.endpoints, unit.key), path)
    body = generation_body(registry, unit.request)
    return HttpRequest(url, _auth(client.api_key), body, client.timeout_s, client.retry)


def judge_http_request(config: JudgeModelConfig, unit: JudgmentUnit) -> HttpRequest:
    """The POST of a judge call to an OpenAI-compatible judge, at the unit's attempt."""
    path = completion_path(config.api is ApiKind.CHAT)
    url = join_url(_replica(config.base_urls, unit.key), path)
    client = config.client()
    body = judge_request(config, unit.call.prompt, unit.call.attempt)
    return HttpRequest(url, _auth(client.api_key), body, client.timeout_s, client.retry)


def read_generation(answer: Any, chat: bool, unit: GenerationUnit) -> StoredGeneration | Failure:
    """The response in a generation answer, or why there is none."""
    try:
        return parse_generation(answer, chat)
    except MalformedAnswerError as error:
        return Failure(generation_label(unit), _why(answer, str(error)))


def read_judgment(
    answer: Any, config: JudgeModelConfig, unit: JudgmentUnit
) -> JudgeReply | Failure:
    """The judge's reply in an answer (its earlier attempts' tokens added), or why there is
    none."""
    try:
        reply = reply_of(answer, config.mode, config.api is ApiKind.CHAT)
    except (KeyError, IndexError, TypeError, ValueError) as error:
        needs = " (logprobs mode needs choices[0].logprobs)" if config.mode == "logprobs" else ""
        reason = f"no completion in the answer: {type(error).__name__} {error}{needs}"
        return Failure(judgment_label(unit), _why(answer, reason))
    return paid_together(unit.earlier, reply)


def next_attempt(unit: JudgmentUnit, reply: JudgeReply) -> JudgmentUnit:
    """The unit asked again after `reply`, which was no verdict."""
    return replace(unit, call=replace(unit.call, attempt=unit.call.attempt + 1), earlier=reply)


def generation_label(unit: GenerationUnit) -> str:
    """How a generation unit is named in a report."""
    request = unit.request
    return f"generation {request.model} · {request.language} · {request.item_id}"


def judgment_label(unit: JudgmentUnit) -> str:
    """How a judge unit is named in a report."""
    return f"judge {unit.judge} · {unit.call.pair_id} · {unit.call.order.value}"


def _why(answer: Any, reason: str) -> str:
    """The server's own error message when it sent one, else `reason`."""
    if isinstance(answer, dict):
        error = answer.get("error") or answer.get("detail") or answer.get("message")
        if isinstance(error, dict):
            error = error.get("message", error)
        if error:
            return f"the server answered an error: {str(error)[:300]}"
    return reason


def _replica(urls: list[str] | tuple[str, ...], key: str) -> str:
    return urls[int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % len(urls)]


def _auth(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}
