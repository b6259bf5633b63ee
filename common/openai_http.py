"""POSTs to OpenAI-compatible servers: bounded concurrency, bounded retries with backoff.

Connection errors, timeouts, HTTP 408 / 429 / 5xx, bodies that are not JSON and answers the
caller's `parse` rejects (`MalformedAnswerError`: a null content, no choices) are retried,
`max_attempts` tries in all, waiting backoff_initial_s · 2^(n-1) plus up to backoff_initial_s
at random (capped at backoff_max_s) after the n-th; then `EndpointUnavailableError`
(`EndpointMalformedError` when the last try was a malformed answer). Any other
HTTP 4xx raises `EndpointRejectedError` at once. With several URLs (replicas of one model),
attempt n goes to the n-th of them, so a dead replica costs one attempt, not the request.

Each try has `timeout_s` in all, a deadline (httpx's own timeout bounds each read, which a
server dripping a byte at a time never reaches). The only credential sent is the configured
key, as a Bearer token: `user:secret@` in a URL is left out of every request (httpx would send
it as Basic auth instead of the key), with a warning the first time, saying what is sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from common.errors import (
    EndpointMalformedError,
    EndpointRejectedError,
    EndpointUnavailableError,
)
from common.urls import shown

log = logging.getLogger(__name__)


class RetryPolicy(BaseModel):
    """How often and how patiently a request is tried."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(default=4, ge=1, le=20, description="tries per request")
    backoff_initial_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=8.0, ge=0)

    def retrying(self, *errors: type[BaseException]) -> AsyncRetrying:
        """Tenacity's loop for this policy, retrying on `errors` and re-raising the last."""
        return AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=wait_exponential_jitter(
                multiplier=self.backoff_initial_s,
                jitter=self.backoff_initial_s,
                max=self.backoff_max_s,
            ),
            retry=retry_if_exception_type(errors),
            reraise=True,
        )


@dataclass(frozen=True)
class ClientSettings:
    """How a client talks to OpenAI-compatible endpoints, in one object: requests in flight,
    seconds per request, the retry policy, a bearer token, and (tests, in-process fakes) the
    transport that replaces the network."""

    concurrency: int = 32
    timeout_s: float = 600.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    api_key: str | None = None
    transport: httpx.AsyncBaseTransport | None = None

    def but(self, **changes: Any) -> ClientSettings:
        """A copy with `changes` (e.g. another concurrency)."""
        return replace(self, **changes)


class MalformedAnswerError(Exception):
    """Raised by a `parse` function: the answer is JSON but not a usable one (worth a retry)."""


class _TransientError(Exception):
    """A failure worth retrying."""

    def __init__(self, url: str, reason: str, malformed: bool = False) -> None:
        super().__init__(reason)
        self.url = url
        self.reason = reason
        self.malformed = malformed


def join_url(base_url: str, path: str) -> str:
    """`base_url` (…/v1) joined with an API path such as /completions."""
    return base_url.rstrip("/") + path


class OpenAIHttp:
    """A pooled async HTTP client for OpenAI-compatible endpoints.

    The connection pool is opened on first use, in the event loop that uses it, and closed by
    `aclose`; a later call opens a new one (an app's lifespan may run more than once).
    """

    def __init__(self, settings: ClientSettings) -> None:
        self.retry = settings.retry
        self.timeout_s = settings.timeout_s
        self.concurrency = settings.concurrency
        self._headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        self._transport = settings.transport
        self._pool: httpx.AsyncClient | None = None
        self._slots_: asyncio.Semaphore | None = None
        self._in_flight: dict[str, int] = {}
        self._warned: set[str] = set()  # URLs whose user-info was left out, said once

    @property
    def _client(self) -> httpx.AsyncClient:
        if self._pool is None:
            self._pool = httpx.AsyncClient(
                headers=self._headers,
                timeout=self.timeout_s,
                limits=httpx.Limits(
                    max_connections=self.concurrency, max_keepalive_connections=self.concurrency
                ),
                transport=self._transport,
            )
        return self._pool

    @property
    def _slots(self) -> asyncio.Semaphore:
        if self._slots_ is None:
            self._slots_ = asyncio.Semaphore(self.concurrency)
        return self._slots_

    async def post(
        self,
        urls: Sequence[str],
        body: dict[str, Any],
        parse: Callable[[Any], Any] | None = None,
    ) -> Any:
        """POST `body` as JSON and return `parse` of the decoded answer. `urls` are replicas of
        one endpoint: the first attempt goes to the one with the fewest requests in flight
        (from this client), attempt n to the next after it, round. A `MalformedAnswerError`
        from `parse` is retried like a 5xx."""
        replicas = sorted(urls, key=lambda url: self._in_flight.get(url, 0))
        primary = replicas[0]
        self._in_flight[primary] = self._in_flight.get(primary, 0) + 1
        try:
            return await self._with_retries(replicas, lambda url: self._post_once(url, body), parse)
        finally:
            self._in_flight[primary] -= 1

    async def send(self, method: str, url: str, *, text: bool = False, **request: Any) -> Any:
        """Any request (`request`: httpx's json, files, data …) with the retries of `post`:
        the decoded JSON answer, or its text when `text`."""

        async def once(url: str) -> Any:
            response = await self._request_once(method, url, **request)
            return response.text if text else _json_of(url, response)

        return await self._with_retries([url], once, None)

    async def _with_retries(
        self,
        urls: Sequence[str],
        once: Callable[[str], Awaitable[Any]],
        parse: Callable[[Any], Any] | None,
    ) -> Any:
        retry = self.retry
        tried: list[str] = []
        try:
            async for attempt in retry.retrying(_TransientError):
                with attempt:
                    url = urls[(attempt.retry_state.attempt_number - 1) % len(urls)]
                    tried.append(url)
                    data = await once(url)
                    try:
                        return data if parse is None else parse(data)
                    except MalformedAnswerError as error:
                        raise _TransientError(url, str(error), malformed=True) from None
        except _TransientError as error:
            failure = EndpointMalformedError if error.malformed else EndpointUnavailableError
            raise failure(
                ", ".join(dict.fromkeys(shown(url) for url in tried)),
                retry.max_attempts,
                error.reason,
            ) from None
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def post_once(self, url: str, body: dict[str, Any]) -> Any:
        """One POST, no retry (health probes): `EndpointUnavailableError` / `…RejectedError`."""
        return await self.send_once("POST", url, json=body)

    async def send_once(self, method: str, url: str, **request: Any) -> Any:
        """One request, no retry (health probes, requests that must not be repeated blindly):
        its decoded JSON answer, `EndpointUnavailableError` or `EndpointRejectedError`."""
        try:
            return _json_of(url, await self._request_once(method, url, **request))
        except _TransientError as error:
            raise EndpointUnavailableError(shown(url), 1, error.reason) from None

    async def get(self, url: str) -> Any:
        """One GET, no retry (for /v1/models and health probes)."""
        try:
            response = await self._send("GET", url)
        except (httpx.HTTPError, TimeoutError) as error:
            raise EndpointUnavailableError(shown(url), 1, _failure(error, self.timeout_s)) from None
        if response.status_code >= 400:
            raise EndpointRejectedError(
                f"{shown(url)} answered HTTP {response.status_code}: {response.text[:300]}",
                response.status_code,
            )
        return response.json()

    async def aclose(self) -> None:
        """Close the connection pool (a later request opens a new one)."""
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
            self._slots_ = None

    async def _send(self, method: str, url: str, **request: Any) -> httpx.Response:
        """One request with the URL's user-info left out, within `timeout_s` in all: httpx's
        timeout bounds each read, so a server that drips a byte at a time would hold it open
        for ever."""
        bare = without_userinfo(url)
        if bare != url and url not in self._warned:
            self._warned.add(url)
            sent = "its api_key as a Bearer token" if self._headers else "no credential"
            log.warning("%s has user:password in it, which is not sent; sxs sends %s",
                        shown(url), sent)  # fmt: skip
        async with asyncio.timeout(self.timeout_s):
            return await self._client.request(method, bare, **request)

    async def _post_once(self, url: str, body: dict[str, Any]) -> Any:
        return _json_of(url, await self._request_once("POST", url, json=body))

    async def _request_once(self, method: str, url: str, **request: Any) -> httpx.Response:
        async with self._slots:
            try:
                response = await self._send(method, url, **request)
            except (httpx.TransportError, TimeoutError) as error:
                raise _TransientError(url, _failure(error, self.timeout_s)) from None
        status = response.status_code
        if status in (408, 429) or status >= 500:
            raise _TransientError(url, f"HTTP {status}: {response.text[:200]}")
        if status >= 400:
            raise EndpointRejectedError(
                f"{shown(url)} answered HTTP {status}: {response.text[:300]}", status
            )
        return response


def _failure(error: Exception, timeout_s: float) -> str:
    if isinstance(error, (TimeoutError, httpx.TimeoutException)):
        return f"timed out after {timeout_s:g} s"
    return f"{type(error).__name__}: {error}"


def without_userinfo(url: str) -> str:
    """`url` without `user:secret@`: httpx would send it as Basic auth in place of the
    configured key, so it is never sent (`shown` keeps it out of messages)."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(userinfo=b"")) if parsed.userinfo else url


def _json_of(url: str, response: httpx.Response) -> Any:
    """The decoded body; a body that is not JSON is worth a retry."""
    try:
        return response.json()
    except ValueError:
        raise _TransientError(url, f"the body is not JSON: {response.text[:120]!r}") from None
