"""Async generation through OpenAI-compatible servers, for many (model, language, item) requests.

- chat format → /v1/chat/completions with one user message; raw → /v1/completions;
- the registry's sampling, and a per-request seed derived from (model, language, item) so that
  a request sent alone reproduces (batched requests may not: see `generators.cache`);
- at most `concurrency` requests in flight; each model's replicas share the load (a request
  goes to the replica with the fewest in flight, and a retry to the next one);
- bounded retries with backoff (`common.openai_http`); an answer without a text (a null or
  absent `content` / `text`) is a malformed answer: retried like a 5xx, then the request fails
  (`GenerationMalformedError`) and nothing is stored for it. An empty string is a real answer;
- every response is stored in the cache as it comes (in batches, and always before an error
  propagates), so a rerun continues where a failed or interrupted run stopped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from common.concurrency import bounded_map
from common.errors import (
    EndpointMalformedError,
    EndpointRejectedError,
    EndpointUnavailableError,
)
from common.openai_http import MalformedAnswerError, OpenAIHttp, RetryPolicy, join_url
from common.store import content_key
from generators.cache import GenerationCache, GenerationRecord, StoredGeneration
from generators.errors import (
    GenerationMalformedError,
    GenerationRejectedError,
    GenerationUnavailableError,
)
from generators.registry import PromptFormat, Registry, ServedModel


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """One response to produce: `model` (a registry name) answering `instruction`."""

    model: str
    language: str
    item_id: str
    instruction: str


@dataclass(frozen=True, slots=True)
class Generation:
    """A response; `cached` when read from the store instead of generated."""

    request: GenerationRequest
    text: str
    finish_reason: str | None
    completion_tokens: int | None
    seed: int
    cached: bool


@dataclass(slots=True)
class GenerationCounts:
    """What a run cost: responses generated, read from the cache, and stored."""

    generated: int = 0
    cache_hits: int = 0
    stored: int = 0


def _generation(
    request: GenerationRequest, stored: StoredGeneration, seed: int, cached: bool
) -> Generation:
    return Generation(
        request, stored.text, stored.finish_reason, stored.completion_tokens, seed, cached
    )


def request_seed(model: str, language: str, item_id: str) -> int:
    """A seed in [0, 2^31) derived from (model, language, item)."""
    digest = hashlib.sha256(f"{model}\x1f{language}\x1f{item_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class Generator:
    """Generates responses of registered models, through the cache when one is given."""

    def __init__(
        self,
        registry: Registry,
        *,
        cache: GenerationCache | None = None,
        concurrency: int = 32,
        timeout_s: float = 600.0,
        retry: RetryPolicy | None = None,
        api_key: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        flush_every: int = 64,
    ) -> None:
        self.registry = registry
        self.flush_every = flush_every
        self.cache = cache
        self.concurrency = concurrency
        self.counts = GenerationCounts()
        self._http = OpenAIHttp(
            concurrency=concurrency,
            timeout_s=timeout_s,
            retry=retry or RetryPolicy(),
            api_key=api_key,
            transport=transport,
        )
        self._sampling = registry.sampling.model_dump()  # part of every cache key
        chat = registry.prompt_format is PromptFormat.CHAT
        self._path = "/chat/completions" if chat else "/completions"
        self._in_flight: dict[str, int] = {}
        self._unsaved: list[GenerationRecord] = []

    def key(self, model: ServedModel, request: GenerationRequest, seed: int) -> str:
        """The cache key of a request."""
        return content_key(
            model.identity,
            self._sampling,
            seed,
            self.registry.prompt_format.value,
            request.instruction,
        )

    async def generate(
        self,
        requests: Sequence[GenerationRequest],
        on_result: Callable[[Generation], None] | None = None,
    ) -> list[Generation]:
        """Responses to every request, in order. Errors propagate after saving."""
        models = {name: self.registry.served(name) for name in {r.model for r in requests}}
        seeds = [request_seed(r.model, r.language, r.item_id) for r in requests]
        keys = [self.key(models[r.model], r, s) for r, s in zip(requests, seeds, strict=True)]
        known = self.cache.get_many(keys) if self.cache is not None else {}

        async def one(index: int) -> Generation:
            request, seed, key = requests[index], seeds[index], keys[index]
            stored = known.get(key)
            if stored is not None:
                self.counts.cache_hits += 1
                return _generation(request, stored, seed, cached=True)
            stored = await self._generate(models[request.model], request, seed)
            self.counts.generated += 1
            known[key] = stored
            record = GenerationRecord(
                key, request.model, request.language, request.item_id, seed, stored
            )
            self._remember(record)
            return _generation(request, stored, seed, cached=False)

        try:
            return await bounded_map(range(len(requests)), one, self.concurrency, on_result)
        finally:
            self._flush()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def _body(self, model: ServedModel, instruction: str, seed: int) -> dict[str, Any]:
        sampling = self.registry.sampling
        body: dict[str, Any] = {
            "model": model.name,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
            "seed": seed,
        }
        if self.registry.prompt_format is PromptFormat.CHAT:
            body["messages"] = [{"role": "user", "content": instruction}]
        else:
            body["prompt"] = instruction
        return body

    async def _generate(
        self, model: ServedModel, request: GenerationRequest, seed: int
    ) -> StoredGeneration:
        body = self._body(model, request.instruction, seed)
        stored: StoredGeneration = await self.post(model, body, self._parse)
        return stored

    async def post(
        self,
        model: ServedModel,
        body: dict[str, Any],
        parse: Callable[[Any], Any] | None = None,
    ) -> Any:
        """POST `body` to the model's completion endpoint (the replica with the fewest requests
        in flight first) and return `parse` of the answer; errors name the model and say what
        to do."""
        replicas = sorted(model.endpoints, key=lambda url: self._in_flight.get(url, 0))
        primary = replicas[0]
        self._in_flight[primary] = self._in_flight.get(primary, 0) + 1
        urls = [join_url(url, self._path) for url in replicas]
        try:
            return await self._http.post(urls, body, parse)
        except EndpointMalformedError as error:
            raise GenerationMalformedError(
                f"model {model.name!r} at {error.url} gave no usable answer in "
                f"{error.attempts} attempts: {error.reason}. Nothing was stored for it; check the "
                "server's chat template and logs."
            ) from None
        except EndpointUnavailableError as error:
            raise GenerationUnavailableError(
                f"model {model.name!r} at {error.url} failed after {error.attempts} attempts: "
                f"{error.reason}. Is the vLLM server running (sxs generators serve)?"
            ) from None
        except EndpointRejectedError as error:
            hint = (
                " The server does not serve this model: restart `sxs generators serve` or run "
                "`sxs generators sync` to load new adapters."
                if error.status == 404
                else ""
            )
            raise GenerationRejectedError(f"model {model.name!r}: {error}.{hint}") from None
        finally:
            self._in_flight[primary] -= 1

    def _parse(self, data: Any) -> StoredGeneration:
        """The text of a completion; `MalformedAnswerError` when it has none (null or absent)."""
        chat = self.registry.prompt_format is PromptFormat.CHAT
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] if chat else choice["text"]
            finish_reason = choice.get("finish_reason")
            tokens = (data.get("usage") or {}).get("completion_tokens")
        except (KeyError, IndexError, TypeError, AttributeError) as error:
            raise MalformedAnswerError(
                f"the answer is not an OpenAI-compatible completion (missing {error})"
            ) from None
        if not isinstance(text, str):
            field = "choices[0].message.content" if chat else "choices[0].text"
            raise MalformedAnswerError(f"{field} is {json.dumps(text)}, not a text")
        return StoredGeneration(text, finish_reason, tokens)

    def _remember(self, record: GenerationRecord) -> None:
        if self.cache is None:
            return
        self._unsaved.append(record)
        if len(self._unsaved) >= self.flush_every:
            self._flush()

    def _flush(self) -> None:
        if self.cache is not None and self._unsaved:
            self.cache.put_many(self._unsaved)
            self.counts.stored += len(self._unsaved)
            self._unsaved = []
