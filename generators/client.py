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

from common.cached_batch import CachedBatch
from common.completions import completion_body, completion_text
from common.openai_http import ClientSettings, MalformedAnswerError
from common.single_flight import SingleFlight
from common.store import content_key
from generators.cache import GenerationCache, GenerationRecord, StoredGeneration
from generators.endpoints import ModelEndpoints
from generators.registry import PromptFormat, Registry


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


@dataclass(frozen=True, slots=True)
class GenerationCounts:
    """What a run cost: responses generated, read from the cache, and stored."""

    generated: int = 0
    cache_hits: int = 0
    stored: int = 0


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
        client: ClientSettings | None = None,
        flush_every: int = 64,
        read_back: bool = False,
        flights: SingleFlight[Generation] | None = None,
    ) -> None:
        """`read_back`: for a cache other processes write too, each response is stored at once
        and the stored one used; `flights`: shared by generators of one process, a response
        one of them is generating is awaited by the others (see `CachedBatch`)."""
        self.registry = registry
        self.cache = cache
        client = client or ClientSettings()
        self.concurrency = client.concurrency
        self._endpoints = ModelEndpoints(registry, client)
        self._batch: CachedBatch[GenerationRequest, StoredGeneration, Generation] = CachedBatch(
            key=self._key,
            compute=self._generate,
            to_store=_stored,
            from_store=self._cached,
            load=cache.get_many if cache is not None else None,
            save=self._save if cache is not None else None,
            concurrency=client.concurrency,
            flush_every=flush_every,
            read_back=read_back,
            flights=flights,
        )

    @property
    def counts(self) -> GenerationCounts:
        """Responses generated, read from the cache, and stored so far."""
        counts = self._batch.counts
        return GenerationCounts(counts.computed, counts.cache_hits, counts.stored)

    async def generate(
        self,
        requests: Sequence[GenerationRequest],
        on_result: Callable[[Generation], None] | None = None,
    ) -> list[Generation]:
        """Responses to every request, in order. Errors propagate after saving."""
        for name in {request.model for request in requests}:
            self.registry.served(name)  # an unknown model fails before any call
        return await self._batch.run(requests, on_result)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._endpoints.aclose()

    def _key(self, request: GenerationRequest) -> str:
        return generation_key(self.registry, request)

    def _cached(self, request: GenerationRequest, stored: StoredGeneration) -> Generation:
        return _generation(request, stored, cached=True)

    async def _generate(self, request: GenerationRequest) -> Generation:
        model = self.registry.served(request.model)
        body = generation_body(self.registry, request)
        stored: StoredGeneration = await self._endpoints.post(model, body, self._parse)
        return _generation(request, stored, cached=False)

    def _parse(self, data: Any) -> StoredGeneration:
        return parse_generation(data, self._endpoints.chat)

    def _save(self, values: list[tuple[str, GenerationRequest, StoredGeneration]]) -> None:
        assert self.cache is not None
        self.cache.put_many(
            GenerationRecord(key, r.model, r.language, r.item_id, _seed(r), stored)
            for key, r, stored in values
        )


def generation_key(registry: Registry, request: GenerationRequest) -> str:
    """The cache key of a request: (model identity, sampling, seed, prompt format,
    instruction); an unknown model raises `UnknownModelError`."""
    return content_key(
        registry.served(request.model).identity,
        registry.sampling.model_dump(),
        _seed(request),
        registry.prompt_format.value,
        request.instruction,
    )


def generation_body(registry: Registry, request: GenerationRequest) -> dict[str, Any]:
    """The completion request of a generation: the registry's sampling and prompt format, the
    request's own seed."""
    sampling = registry.sampling
    return completion_body(
        registry.served(request.model).name,
        request.instruction,
        chat=registry.prompt_format is PromptFormat.CHAT,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        max_tokens=sampling.max_tokens,
        seed=_seed(request),
    )


def parse_generation(data: Any, chat: bool) -> StoredGeneration:
    """The text of a completion; `MalformedAnswerError` when it has none (null or absent)."""
    try:
        text = completion_text(data, chat)
        finish_reason = data["choices"][0].get("finish_reason")
        tokens = (data.get("usage") or {}).get("completion_tokens")
    except (KeyError, IndexError, TypeError, AttributeError) as error:
        raise MalformedAnswerError(
            f"the answer is not an OpenAI-compatible completion (missing {error})"
        ) from None
    if not isinstance(text, str):
        field = "choices[0].message.content" if chat else "choices[0].text"
        raise MalformedAnswerError(f"{field} is {json.dumps(text)}, not a text")
    return StoredGeneration(text, finish_reason, tokens)


def _seed(request: GenerationRequest) -> int:
    return request_seed(request.model, request.language, request.item_id)


def _stored(generation: Generation) -> StoredGeneration:
    return StoredGeneration(generation.text, generation.finish_reason, generation.completion_tokens)


def _generation(request: GenerationRequest, stored: StoredGeneration, cached: bool) -> Generation:
    return Generation(
        request,
        stored.text,
        stored.finish_reason,
        stored.completion_tokens,
        _seed(request),
        cached,
    )
