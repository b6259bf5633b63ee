"""Multiple-choice answers of registered models, read from next-token log-probabilities.

Each (model, language, item) is one request for one greedy token with its top
log-probabilities, through the same OpenAI-compatible API and replicas as generation
(`generators.endpoints`): the prompt is the question with lettered options ending
at `Answer:`, as a user message (chat) or raw text (completions), as the registry says. The
answer is the option letter with the highest log-probability among the top tokens; none of
them there → no answer (`choice` None: wrong in every metric, and for consistency the same
answer as nothing, not even another missing one). Answers are stored in SQLite under a content
key (model identity, prompt format, prompt, top-k): a rerun makes no call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.cached_batch import CachedBatch
from common.completions import completion_body
from common.logprobs import best_by_label, first_token_top, next_token_request
from common.openai_http import ClientSettings
from common.store import ContentStore, content_key
from generators.endpoints import ModelEndpoints
from generators.errors import GeneratorError
from generators.mcq_sets import LETTERS, McqItem
from generators.registry import Registry

TOP_LOGPROBS = 20


@dataclass(frozen=True, slots=True)
class McqRequest:
    """`model` answering `item` in `language`."""

    model: str
    language: str
    item: McqItem


@dataclass(frozen=True, slots=True)
class McqAnswer:
    """The chosen option (None: no option letter among the top tokens) and the letters'
    log-probabilities; `cached` when read from the store."""

    model: str
    language: str
    item_id: str
    choice: int | None
    logprobs: dict[str, float]
    cached: bool


class McqAnswerer:
    """Answers multiple-choice items with registered models, through a cache."""

    def __init__(
        self,
        registry: Registry,
        cache_file: Path | None = None,
        *,
        client: ClientSettings | None = None,
    ) -> None:
        self.registry = registry
        client = client or ClientSettings(timeout_s=120.0)
        self.concurrency = client.concurrency
        self._endpoints = ModelEndpoints(registry, client)
        self._store = (
            ContentStore(
                cache_file,
                "mcq_answers",
                {"model": str, "language": str, "item_id": str, "choice": int, "logprobs": str},
                not_null={"model", "logprobs"},
            )
            if cache_file is not None
            else None
        )
        self._batch: CachedBatch[McqRequest, dict[str, Any], McqAnswer] = CachedBatch(
            key=self.key,
            compute=self._ask,
            to_store=_row,
            from_store=_from_row,
            load=self._load if self._store is not None else None,
            save=self._save if self._store is not None else None,
            concurrency=client.concurrency,
            flush_every=1,
        )

    @property
    def calls(self) -> int:
        """Answers asked of the models so far."""
        return self._batch.counts.computed

    @property
    def cache_hits(self) -> int:
        """Answers read from the store so far."""
        return self._batch.counts.cache_hits

    def key(self, request: McqRequest) -> str:
        """The cache key of a request."""
        served = self.registry.served(request.model)
        prompt = request.item.prompt(request.language)
        return content_key("mcq", served.identity, self._endpoints.chat, prompt, TOP_LOGPROBS)

    async def answer(
        self,
        requests: Sequence[McqRequest],
        on_result: Callable[[McqAnswer], None] | None = None,
    ) -> list[McqAnswer]:
        """An answer to every request, in order; each stored as it comes."""
        return await self._batch.run(requests, on_result)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._endpoints.aclose()

    def _load(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        assert self._store is not None
        return self._store.get_many(keys, ("model", "language", "item_id", "choice", "logprobs"))

    def _save(self, values: list[tuple[str, McqRequest, dict[str, Any]]]) -> None:
        assert self._store is not None
        self._store.put_many([{"key": key, **row} for key, _, row in values])

    async def _ask(self, request: McqRequest) -> McqAnswer:
        served = self.registry.served(request.model)
        chat = self._endpoints.chat
        prompt = request.item.prompt(request.language)
        body = completion_body(
            served.name, prompt, chat=chat, **next_token_request(chat, TOP_LOGPROBS)
        )
        data = await self._endpoints.post(served, body)
        letters = LETTERS[: len(request.item.options[request.language])]
        try:
            top = first_token_top(data["choices"][0], chat)
        except (KeyError, IndexError, TypeError) as error:
            raise GeneratorError(
                f"model {served.name!r}: the answer carries no log-probabilities ({error!r}); "
                "does the server return logprobs (vLLM: --max-logprobs ≥ 20)?"
            ) from None
        best = best_by_label(top, letters)
        choice = LETTERS.index(max(best, key=lambda k: best[k])) if best else None
        return McqAnswer(request.model, request.language, request.item.id, choice, best, False)


def _row(answer: McqAnswer) -> dict[str, Any]:
    return {
        "model": answer.model,
        "language": answer.language,
        "item_id": answer.item_id,
        "choice": -1 if answer.choice is None else answer.choice,
        "logprobs": json.dumps(answer.logprobs),
    }


def _from_row(request: McqRequest, row: dict[str, Any]) -> McqAnswer:
    choice = row["choice"]
    return McqAnswer(
        request.model,
        request.language,
        request.item.id,
        None if choice is None or choice < 0 else int(choice),
        json.loads(row["logprobs"]),
        cached=True,
    )
