"""Multiple-choice answers of registered models, read from next-token log-probabilities.

Each (model, language, item) is one request for one greedy token with its top
log-probabilities, through the same OpenAI-compatible API and replicas as generation
(`generators.client.Generator.post`): the prompt is the question with lettered options ending
at `Answer:`, as a user message (chat) or raw text (completions), as the registry says. The
answer is the option letter with the highest log-probability among the top tokens; none of
them there → no answer (`choice` None, wrong in every metric, and a distinct answer for
consistency). Answers are stored in SQLite under a content key (model identity, prompt format,
prompt, top-k): a rerun makes no call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from common.concurrency import bounded_map
from common.logprobs import best_by_label, first_token_top, next_token_request
from common.openai_http import RetryPolicy
from common.store import ContentStore, content_key
from generators.client import Generator
from generators.errors import GeneratorError
from generators.mcq_sets import LETTERS, McqItem
from generators.registry import PromptFormat, Registry

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
        concurrency: int = 32,
        timeout_s: float = 120.0,
        retry: RetryPolicy | None = None,
        api_key: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.registry = registry
        self.concurrency = concurrency
        self.calls = 0
        self.cache_hits = 0
        self._generator = Generator(
            registry, concurrency=concurrency, timeout_s=timeout_s, retry=retry,
            api_key=api_key, transport=transport,
        )  # fmt: skip
        self._chat = registry.prompt_format is PromptFormat.CHAT
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

    def key(self, request: McqRequest) -> str:
        """The cache key of a request."""
        served = self.registry.served(request.model)
        prompt = request.item.prompt(request.language)
        return content_key("mcq", served.identity, self._chat, prompt, TOP_LOGPROBS)

    async def answer(
        self,
        requests: Sequence[McqRequest],
        on_result: Callable[[McqAnswer], None] | None = None,
    ) -> list[McqAnswer]:
        """An answer to every request, in order; each stored as it comes."""
        keys = [self.key(request) for request in requests]
        known = self._store.get_many(keys, ("choice", "logprobs")) if self._store else {}

        async def one(index: int) -> McqAnswer:
            request, key = requests[index], keys[index]
            stored = known.get(key)
            if stored is not None:
                self.cache_hits += 1
                choice = stored["choice"]
                return McqAnswer(
                    request.model, request.language, request.item.id,
                    None if choice is None or choice < 0 else int(choice),
                    json.loads(stored["logprobs"]), cached=True,
                )  # fmt: skip
            answer = await self._ask(request)
            if self._store is not None:
                self._store.put_many(
                    [
                        {
                            "key": key,
                            "model": answer.model,
                            "language": answer.language,
                            "item_id": answer.item_id,
                            "choice": -1 if answer.choice is None else answer.choice,
                            "logprobs": json.dumps(answer.logprobs),
                        }
                    ]
                )
            return answer

        return await bounded_map(range(len(requests)), one, self.concurrency, on_result)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._generator.aclose()

    async def _ask(self, request: McqRequest) -> McqAnswer:
        served = self.registry.served(request.model)
        prompt = request.item.prompt(request.language)
        body = {"model": served.name, **next_token_request(self._chat, TOP_LOGPROBS)}
        if self._chat:
            body["messages"] = [{"role": "user", "content": prompt}]
        else:
            body["prompt"] = prompt
        self.calls += 1
        data = await self._generator.post(served, body)
        letters = LETTERS[: len(request.item.options[request.language])]
        try:
            top = first_token_top(data["choices"][0], self._chat)
        except (KeyError, IndexError, TypeError) as error:
            raise GeneratorError(
                f"model {served.name!r}: the answer carries no log-probabilities ({error!r}); "
                "does the server return logprobs (vLLM: --max-logprobs ≥ 20)?"
            ) from None
        best = best_by_label(top, letters)
        choice = LETTERS.index(max(best, key=lambda k: best[k])) if best else None
        return McqAnswer(request.model, request.language, request.item.id, choice, best, False)
