"""Whether the parts a job needs answer, in two depths.

- `liveness`: the store answers a query, and its last write went through (or it is full,
  broken, or locked by another connection). Cheap, for probes that call every few seconds.
- `HealthChecker.backends`: the store, every generator endpoint (GET /models, and whether it
  lists every model the registry serves from it) and every judge (one greedy token of its
  model, the only thing that proves it can judge). Cached for `ttl_s`, through one pooled
  client, so that frequent callers cost one round of probes per `ttl_s`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from common.openai_http import without_userinfo
from common.urls import shown
from generators.registry import Registry
from judges.backends.base import LOCAL, Judge
from service.jobs.store import JobStore

OK = "ok"
PROBE_TIMEOUT_S = 2.0  # a probe answers within this, whatever the backend's own timeout


async def liveness(store: JobStore) -> str:
    """`ok`, or the store's error, or `busy: …` while writes wait for another connection."""
    try:
        await store.ping()
    except Exception as error:  # the store is what liveness is about: report, don't raise
        return f"error: {error}"
    if store.write_error is not None:
        return f"error: the last write failed ({store.write_error})"
    if store.busy is not None:
        return f"busy: the last write found the file locked ({store.busy})"
    return OK


@dataclass(frozen=True, slots=True)
class HealthReport:
    """`ok` or what is wrong, per part; `healthy` when every part answers."""

    store: str
    generators: dict[str, str]
    judges: dict[str, str]

    @property
    def healthy(self) -> bool:
        """Whether the store and every backend answer."""
        parts = [self.store, *self.generators.values(), *self.judges.values()]
        return all(part in (OK, LOCAL) for part in parts)


class HealthChecker:
    """The backend check, cached for `ttl_s` and shared by concurrent callers."""

    def __init__(
        self,
        store: JobStore,
        registry: Registry,
        judges: dict[str, Judge],
        transport: httpx.AsyncBaseTransport | None = None,
        ttl_s: float = 5.0,
        timeout_s: float = PROBE_TIMEOUT_S,
    ) -> None:
        self.store = store
        self.registry = registry
        self.judges = judges
        self.ttl_s = ttl_s
        self._transport = transport
        self._timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None
        self._last: tuple[float, HealthReport] | None = None
        self._lock: asyncio.Lock | None = None

    async def backends(self) -> HealthReport:
        """The last report younger than `ttl_s`, else a new round of probes."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._last is not None and time.monotonic() - self._last[0] < self.ttl_s:
                return self._last[1]
            report = await self._probe_all()
            self._last = (time.monotonic(), report)
            return report

    async def aclose(self) -> None:
        """Close the pooled client (a later check opens a new one)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._lock = None

    async def generators(self, models: Iterable[str]) -> dict[str, str]:
        """Each endpoint of `models`, shown: `ok` when it lists every one of them it serves."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout_s, transport=self._transport)
        served: dict[str, set[str]] = {}
        for name in models:
            for url in self.registry.served(name).endpoints:
                served.setdefault(url, set()).add(name)
        return {
            shown(url): await self._generator(url, names) for url, names in sorted(served.items())
        }

    async def _probe_all(self) -> HealthReport:
        generators = await self.generators(self.registry.names())
        judges = {
            name: await probe_judge(judge, self._timeout_s) for name, judge in self.judges.items()
        }
        return HealthReport(await liveness(self.store), generators, judges)

    async def _generator(self, url: str, names: set[str]) -> str:
        assert self._client is not None
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await self._client.get(without_userinfo(url).rstrip("/") + "/models")
        except TimeoutError:
            return f"unreachable: no answer within {self._timeout_s:g} s"
        except httpx.HTTPError as error:
            return f"unreachable: {type(error).__name__}"
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        try:
            listed = {entry["id"] for entry in response.json()["data"]}
        except (ValueError, KeyError, TypeError):
            return "answers GET /models, but not with a model list"
        missing = sorted(names - listed)
        if missing:
            return f"does not serve {', '.join(missing)} (sxs generators sync)"
        return OK


async def probe_judge(judge: Judge, timeout_s: float = PROBE_TIMEOUT_S) -> str:
    """What the judge's probe says within `timeout_s` (not the judge's own, longer, timeout);
    an error it raises, as a line."""
    try:
        async with asyncio.timeout(timeout_s):
            return await judge.probe()
    except TimeoutError:
        return f"error: no answer within {timeout_s:g} s"
    except Exception as error:  # a probe reports, it never fails the check
        return f"error: {type(error).__name__}: {error}"
