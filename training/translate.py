"""Parallel sets made from an English one through any OpenAI-compatible endpoint.

Each text (an item's instruction or response, for each target language) is one request, with
greedy decoding and the prompt below; at most `concurrency` are in flight (`common.openai_http`:
bounded retries with backoff). Every translation is stored in SQLite under a content key
(endpoint model, prompt, languages, text) as it arrives, so a rerun or a resumed run makes no
call for what was done. A text that cannot be translated (the endpoint refuses it, answers
nothing, or stops at `max_tokens`) marks its item as failed, with the reason: failed items are
reported and left out of the parallel set, never silently dropped or kept half-translated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from common.concurrency import bounded_map
from common.errors import EndpointError, EndpointRejectedError, EndpointUnavailableError
from common.openai_http import OpenAIHttp, RetryPolicy, join_url
from common.store import ContentStore, content_key
from training.errors import TranslationError
from training.languages import LANGUAGES

PROMPT = (
    "Translate the following text from {source} into {target}. "
    "Answer with the translation only.\n\n{text}"
)


class TranslationApi(StrEnum):
    """Which OpenAI endpoint carries the prompt."""

    CHAT = "chat"
    COMPLETIONS = "completions"


class TranslationEndpoint(BaseModel):
    """Where and how texts are translated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: HttpUrl
    model: str = Field(min_length=1)
    api: TranslationApi = TranslationApi.CHAT
    max_tokens: int = Field(default=1024, ge=1)
    prompt: str = PROMPT


@dataclass(frozen=True, slots=True)
class TextToTranslate:
    """One field of one item, into one language."""

    item_id: str
    part: str  # "instruction" or "response"
    source: str
    target: str
    text: str


@dataclass(frozen=True, slots=True)
class Translated:
    """A translation, or why there is none."""

    task: TextToTranslate
    text: str | None
    error: str | None = None
    cached: bool = False


@dataclass(slots=True)
class TranslationCounts:
    """What a run cost."""

    translated: int = 0
    cache_hits: int = 0


class Translator:
    """Translates texts through one endpoint, through a SQLite cache."""

    def __init__(
        self,
        endpoint: TranslationEndpoint,
        cache_file: Path,
        *,
        concurrency: int = 16,
        timeout_s: float = 300.0,
        retry: RetryPolicy | None = None,
        api_key: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        flush_every: int = 32,
    ) -> None:
        self.endpoint = endpoint
        self.concurrency = concurrency
        self.flush_every = flush_every
        self.counts = TranslationCounts()
        self._http = OpenAIHttp(
            concurrency=concurrency,
            timeout_s=timeout_s,
            retry=retry or RetryPolicy(),
            api_key=api_key,
            transport=transport,
        )
        self._store = ContentStore(
            cache_file,
            "translations",
            {"model": str, "source": str, "target": str, "text": str, "translation": str},
            not_null={"translation"},
        )
        self._base = str(endpoint.base_url).rstrip("/")
        chat = endpoint.api is TranslationApi.CHAT
        self._url = join_url(self._base, "/chat/completions" if chat else "/completions")
        self._unsaved: list[dict[str, Any]] = []

    def key(self, task: TextToTranslate) -> str:
        """The cache key of a text to translate."""
        endpoint = self.endpoint
        return content_key(
            "translation", endpoint.model, endpoint.api.value, endpoint.max_tokens,
            endpoint.prompt, task.source, task.target, task.text,
        )  # fmt: skip

    async def check(self) -> None:
        """Fail before any work when the endpoint is down or does not serve the model."""
        url = join_url(self._base, "/models")
        try:
            listing = await self._http.get(url)
        except EndpointError as error:
            raise TranslationError(f"the translation endpoint is not usable: {error}") from None
        served = [entry.get("id") for entry in listing.get("data", [])]
        if self.endpoint.model not in served:
            raise TranslationError(
                f"{url} does not serve model {self.endpoint.model!r} (it serves: "
                f"{', '.join(map(str, served)) or 'nothing'}); pass --model with one of them"
            )

    async def translate(
        self,
        tasks: Sequence[TextToTranslate],
        on_result: Callable[[Translated], None] | None = None,
    ) -> list[Translated]:
        """A translation or a failure for every task, in order; saved as they come."""
        keys = [self.key(task) for task in tasks]
        known = self._store.get_many(keys, ("translation",))

        async def one(index: int) -> Translated:
            task, key = tasks[index], keys[index]
            if key in known:
                self.counts.cache_hits += 1
                return Translated(task, known[key]["translation"], cached=True)
            result = await self._translate(task)
            if result.error is not None:
                return result
            self.counts.translated += 1
            known[key] = {"translation": result.text}
            self._remember(key, task, result.text or "")
            return result

        try:
            return await bounded_map(range(len(tasks)), one, self.concurrency, on_result)
        finally:
            self._flush()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _translate(self, task: TextToTranslate) -> Translated:
        endpoint = self.endpoint
        prompt = endpoint.prompt.format(
            source=LANGUAGES.get(task.source, task.source),
            target=LANGUAGES.get(task.target, task.target),
            text=task.text,
        )
        body: dict[str, Any] = {
            "model": endpoint.model,
            "temperature": 0.0,
            "max_tokens": endpoint.max_tokens,
        }
        if endpoint.api is TranslationApi.CHAT:
            body["messages"] = [{"role": "user", "content": prompt}]
        else:
            body["prompt"] = prompt
        try:
            data = await self._http.post([self._url], body)
        except (EndpointUnavailableError, EndpointRejectedError) as error:
            return Translated(task, None, str(error))
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] if "messages" in body else choice["text"]
            finish = choice.get("finish_reason")
        except (KeyError, IndexError, TypeError) as error:
            return Translated(task, None, f"not an OpenAI completion (missing {error})")
        text = (text or "").strip()
        if not text:
            return Translated(task, None, "the endpoint answered an empty translation")
        if finish == "length":
            return Translated(
                task, None, f"cut at max_tokens = {endpoint.max_tokens} (raise --max-tokens)"
            )
        return Translated(task, text)

    def _remember(self, key: str, task: TextToTranslate, translation: str) -> None:
        self._unsaved.append(
            {
                "key": key,
                "model": self.endpoint.model,
                "source": task.source,
                "target": task.target,
                "text": task.text,
                "translation": translation,
            }
        )
        if len(self._unsaved) >= self.flush_every:
            self._flush()

    def _flush(self) -> None:
        if self._unsaved:
            self._store.put_many(self._unsaved)
            self._unsaved = []
