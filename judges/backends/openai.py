"""Judge through any OpenAI-compatible server (vLLM first).

Modes:
- `generate`: greedy decoding of at most 2 tokens, parsed strictly as '1' or '2'. The greedy
  answer repeats itself, so a parse retry (attempt n > 1, after an output that was no verdict)
  samples instead: temperature `retry_temperature` (default 0.7), seed n - 1, so a retry can
  differ from the first answer and a rerun asks the same.
- `logprobs`: one greedy token with `top_logprobs`; the verdict is whichever of '1' and '2'
  has the higher log-probability (tokens compared after stripping whitespace); both are
  recorded. Neither among the top tokens, or both equally likely (a dead heat: in bf16,
  digits a judge barely tells apart share a logit) → an invalid verdict, raw output kept. The
  log-probabilities do not change when asked again: no parse retry is spent.

Failures, documented behaviour (retries as in `common.openai_http`):
- connection errors, timeouts, HTTP 408 / 429 / 5xx and bodies that are not JSON are retried
  with backoff, `max_attempts` tries in all, then raise `JudgeUnavailableError` naming the
  endpoint;
- any other HTTP 4xx (unknown model, bad request) raises `JudgeRequestRejectedError` at once;
- a JSON answer without the expected fields (no choices, no logprobs in logprobs mode) raises
  `JudgeProtocolError` at once: the server cannot serve this mode.
None of them ever becomes a verdict.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, Literal, Self

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from common.completions import completion_body, completion_path, completion_text
from common.errors import EndpointError, EndpointRejectedError, EndpointUnavailableError
from common.logprobs import best_by_label, first_token_top, next_token_request
from common.openai_http import ClientSettings, OpenAIHttp, RetryPolicy, join_url
from common.urls import shown
from judges.backends.base import JudgeCall, JudgeReply
from judges.errors import JudgeProtocolError, JudgeRequestRejectedError, JudgeUnavailableError
from judges.prefix_gate import PrefixGate
from judges.usage import JudgePrices
from judges.verdicts import Verdict, parse_verdict


class JudgeMode(StrEnum):
    """How a verdict is read from the judge model."""

    GENERATE = "generate"
    LOGPROBS = "logprobs"


class ApiKind(StrEnum):
    """Raw-prompt completions, or chat completions through the server's chat template."""

    COMPLETIONS = "completions"
    CHAT = "chat"


class JudgeModelConfig(BaseModel):
    """A judge model behind an OpenAI-compatible server: what the `openai` backend and the
    batch backend (`judges.backends.batch`) share."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str | None = Field(
        default=None,
        description="server root including /v1; or base_urls",
        examples=["http://127.0.0.1:8000/v1"],
    )
    base_urls: list[str] = Field(
        default_factory=list,
        description="replicas serving the same judge model: a call goes to the one with the "
        "fewest in flight, a retry to the next",
    )
    model: str = Field(min_length=1, description="the judge model's name on the server")
    revision: str | None = Field(
        default=None,
        description="the judge weights' version (a distilled adapter's weights hash): "
        "verdicts of other weights under the same name are never served from the cache",
    )
    mode: JudgeMode = JudgeMode.GENERATE
    api: ApiKind = ApiKind.COMPLETIONS
    api_key: SecretStr | None = None
    concurrency: int = Field(default=64, ge=1, le=1024, description="requests in flight")
    timeout_s: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=20, description="tries per request")
    backoff_initial_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=8.0, ge=0)
    top_logprobs: int = Field(default=20, ge=2, le=20)
    retry_temperature: float = Field(
        default=0.7,
        gt=0,
        le=2,
        description="sampling temperature of a parse retry in generate mode (seeded)",
    )
    prices: JudgePrices | None = Field(
        default=None, description="per-token prices: judge costs are estimated from them"
    )

    def client(self, transport: httpx.AsyncBaseTransport | None = None) -> ClientSettings:
        """The HTTP client settings these settings give."""
        retry = RetryPolicy(
            max_attempts=self.max_attempts,
            backoff_initial_s=self.backoff_initial_s,
            backoff_max_s=self.backoff_max_s,
        )
        key = self.api_key.get_secret_value() if self.api_key else None
        return ClientSettings(self.concurrency, self.timeout_s, retry, key, transport)

    @model_validator(mode="after")
    def _one_way_to_name_the_servers(self) -> Self:
        """`base_url` is one replica, `base_urls` several: one of the two."""
        if self.base_url is None and not self.base_urls:
            raise ValueError("base_url is required (or base_urls, for several replicas)")
        if self.base_url is not None and self.base_urls not in ([], [self.base_url]):
            raise ValueError("give base_url or base_urls (the judge's servers), not both")
        if self.base_url is not None:
            object.__setattr__(self, "base_urls", [self.base_url])
        if len(set(self.base_urls)) != len(self.base_urls):
            raise ValueError("base_urls repeat a URL")
        return self

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return None if value is None else http_url(value)

    @field_validator("base_urls")
    @classmethod
    def _http_urls(cls, values: list[str]) -> list[str]:
        return [http_url(value) for value in values]


class OpenAIJudgeConfig(JudgeModelConfig):
    """Settings of the `openai` judge backend."""

    kind: Literal["openai"] = "openai"


def judge_identity(config: JudgeModelConfig) -> str:
    """What makes two verdicts of a judge model comparable: its model (and revision), mode and
    API (not the server or the way it is asked, so online and batch calls share the judgment
    cache)."""
    identity = f"openai|{config.model}|{config.mode}|{config.api}"
    return identity if config.revision is None else f"{identity}|{config.revision}"


def http_url(value: str) -> str:
    """`value` without a trailing slash, if it is an http(s) URL with a host."""
    url = httpx.URL(value)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"{value!r} is not an http(s) URL such as http://127.0.0.1:8000/v1")
    return value.rstrip("/")


class OpenAIJudge:
    """A judge model behind an OpenAI-compatible /v1/completions or /v1/chat/completions."""

    cacheable = True
    uses_reference = False

    def __init__(
        self, config: OpenAIJudgeConfig, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self.identity = judge_identity(config)
        self.retries_differ = config.mode is JudgeMode.GENERATE
        self._chat = config.api is ApiKind.CHAT
        self.endpoints = [join_url(url, completion_path(self._chat)) for url in config.base_urls]
        self._http = OpenAIHttp(config.client(transport))
        self._gate = PrefixGate(config.concurrency)  # calls waiting go in prompt order

    async def judge(self, call: JudgeCall) -> JudgeReply:
        """Send one prompt, greedy, and read the verdict as the mode says."""
        try:
            async with self._gate.slot(call.prompt):
                data = await self._http.post(self.endpoints, self._body(call.prompt, call.attempt))
        except EndpointUnavailableError as error:
            raise JudgeUnavailableError(
                f"judge endpoint {error.url} (model {self.config.model!r}) failed after "
                f"{error.attempts} attempts: {error.reason}. Is the server running and "
                "reachable? Check the base URL."
            ) from None
        except EndpointRejectedError as error:
            raise JudgeRequestRejectedError(
                f"judge model {self.config.model!r} refused: {error}"
            ) from None
        try:
            return self._reply(data)
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise JudgeProtocolError(self._unexpected_shape(error)) from None

    async def probe(self) -> str:
        """One greedy token of the judge model from every replica, one attempt each: what a
        health check can prove ("ok", or the first replica's error)."""
        body = completion_body(
            self.config.model, "1", chat=self._chat, temperature=0.0, max_tokens=1
        )
        for endpoint in self.endpoints:
            try:
                await self._http.post_once(endpoint, body)
            except EndpointError as error:
                return f"error: {error}"
        return "ok"

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def _body(self, prompt: str, attempt: int) -> dict[str, Any]:
        return judge_request(self.config, prompt, attempt)

    def _reply(self, data: Any) -> JudgeReply:
        return reply_of(data, self.config.mode, self._chat)

    def _unexpected_shape(self, error: Exception) -> str:
        needs = "choices[0].logprobs" if self.config.mode is JudgeMode.LOGPROBS else "choices[0]"
        hint = (
            " Does the server return logprobs (vLLM: --max-logprobs >= top_logprobs)? "
            "Otherwise use mode 'generate'."
            if self.config.mode is JudgeMode.LOGPROBS
            else ""
        )
        return (
            f"{', '.join(map(shown, self.endpoints))} answered without {needs} for model "
            f"{self.config.model!r} "
            f"({type(error).__name__}: {error}).{hint}"
        )


def judge_request(config: JudgeModelConfig, prompt: str, attempt: int) -> dict[str, Any]:
    """The request body of one judge call: greedy; a parse retry in generate mode samples
    (seeded by the attempt); one token with `top_logprobs` in logprobs mode."""
    chat = config.api is ApiKind.CHAT
    fields: dict[str, Any] = {"temperature": 0.0}
    if attempt > 1 and config.mode is JudgeMode.GENERATE:
        fields |= {"temperature": config.retry_temperature, "seed": attempt - 1}
    if config.mode is JudgeMode.GENERATE:
        fields["max_tokens"] = 2
    else:
        fields |= next_token_request(chat, config.top_logprobs)
    return completion_body(config.model, prompt, chat=chat, **fields)


def reply_of(data: Any, mode: JudgeMode, chat: bool) -> JudgeReply:
    """The reply in a completion answer's JSON, read as `mode` says, with its usage. Raises
    KeyError / IndexError / TypeError / ValueError when the answer lacks what the mode needs."""
    choice = data["choices"][0]
    raw = completion_text(data, chat) or ""
    if not isinstance(raw, str):
        raise TypeError("the answer text is not a string")
    usage = data.get("usage") or {}
    prompt_tokens = _count(usage.get("prompt_tokens"))
    completion_tokens = _count(usage.get("completion_tokens"))
    verdict, logprob_1, logprob_2 = parse_verdict(raw), None, None
    if mode is JudgeMode.LOGPROBS:
        verdict, logprob_1, logprob_2 = verdict_from_logprobs(first_token_top(choice, chat))
    return JudgeReply(raw, verdict, logprob_1, logprob_2, prompt_tokens, completion_tokens)


def _count(value: Any) -> int | None:
    """A token count as reported, None when absent or not a count."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def verdict_from_logprobs(
    top: Iterable[tuple[str, float]],
) -> tuple[Verdict | None, float | None, float | None]:
    """The verdict from top-token log-probabilities, with those of '1' and '2' (or None).

    Tokens are compared after stripping whitespace (' 1' counts as '1'); the more likely digit
    wins; equal or both absent → no verdict.
    """
    best = best_by_label(top, ("1", "2"))
    logprob_1, logprob_2 = best.get("1"), best.get("2")
    if logprob_1 is None and logprob_2 is None:
        return None, None, None
    if logprob_2 is None or (logprob_1 is not None and logprob_1 > logprob_2):
        return Verdict.FIRST, logprob_1, logprob_2
    if logprob_1 is None or logprob_2 > logprob_1:
        return Verdict.SECOND, logprob_1, logprob_2
    return None, logprob_1, logprob_2
