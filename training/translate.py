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

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from common.cached_batch import CachedBatch
from common.completions import completion_body, completion_path, completion_text
from common.errors import EndpointError, EndpointRejectedError, EndpointUnavailableError
from common.openai_http import ClientSettings, OpenAIHttp, join_url
from common.store import ContentStore, content_key
from common.urls import shown
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


@dataclass(frozen=True, slots=True)
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
        client: ClientSettings | None = None,
        flush_every: int = 32,
    ) -> None:
        self.endpoint = endpoint
        client = client or ClientSettings(concurrency=16, timeout_s=300.0)
        self.concurrency = client.concurrency
        self._http = OpenAIHttp(client)
        self._store = ContentStore(
            cache_file,
            "translations",
            {"model": str, "source": str, "target": str, "text": str, "translation": str},
            not_null={"translation"},
        )
        self._base = str(endpoint.base_url).rstrip("/")
        self._chat = endpoint.api is TranslationApi.CHAT
        self._url = join_url(self._base, completion_path(self._chat))
        self._batch: CachedBatch[TextToTranslate, str, Translated] = CachedBatch(
            key=self.key,
            compute=self._translate,
            to_store=lambda result: result.text if result.error is None else None,
            from_store=lambda task, text: Translated(task, text, cached=True),
            load=self._load,
            save=self._save,
            concurrency=client.concurrency,
            flush_every=flush_every,
        )

    @property
    def counts(self) -> TranslationCounts:
        """Texts translated and stored (failures not counted), and read from the cache, so far."""
        counts = self._batch.counts
        return TranslationCounts(counts.stored, counts.cache_hits)

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
                f"{shown(url)} does not serve model {self.endpoint.model!r} (it serves: "
                f"{', '.join(map(str, served)) or 'nothing'}); pass --model with one of them"
            )

    async def translate(
        self,
        tasks: Sequence[TextToTranslate],
        on_result: Callable[[Translated], None] | None = None,
    ) -> list[Translated]:
        """A translation or a failure for every task, in order; saved as they come."""
        return await self._batch.run(tasks, on_result)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def _load(self, keys: list[str]) -> dict[str, str]:
        rows = self._store.get_many(keys, ("translation",))
        return {key: row["translation"] for key, row in rows.items()}

    def _save(self, values: list[tuple[str, TextToTranslate, str]]) -> None:
        self._store.put_many(
            [
                {
                    "key": key,
                    "model": self.endpoint.model,
                    "source": task.source,
                    "target": task.target,
                    "text": task.text,
                    "translation": translation,
                }
                for key, task, translation in values
            ]
        )

    async def _translate(self, task: TextToTranslate) -> Translated:
        endpoint = self.endpoint
        prompt = endpoint.prompt.format(
            source=LANGUAGES.get(task.source, task.source),
            target=LANGUAGES.get(task.target, task.target),
            text=task.text,
        )
        body = completion_body(
            endpoint.model,
            prompt,
            chat=self._chat,
            temperature=0.0,
            max_tokens=endpoint.max_tokens,
        )
        try:
            data = await self._http.post([self._url], body)
        except (EndpointUnavailableError, EndpointRejectedError) as error:
            return Translated(task, None, str(error))
        try:
            text = completion_text(data, self._chat)
            finish = data["choices"][0].get("finish_reason")
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
