"""Whether the parts a job needs answer: the store, every generator endpoint, every judge."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from common.urls import shown
from generators.registry import Registry
from judges.backends.base import Judge
from service.jobs.store import JobStore

OK = "ok"
LOCAL = "local"  # a judge that runs in this process: nothing to probe


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


async def check_health(
    store: JobStore,
    registry: Registry,
    judges: dict[str, Judge],
    transport: httpx.AsyncBaseTransport | None = None,
    timeout_s: float = 2.0,
) -> HealthReport:
    """Ping the store; GET /models of every generator endpoint and the judges' health URLs."""
    try:
        store.ping()
        stored = OK
    except Exception as error:  # the store is what health is about: report, don't raise
        stored = f"error: {error}"
    endpoints = sorted(
        {url for name in registry.names() for url in registry.served(name).endpoints}
    )
    async with httpx.AsyncClient(timeout=timeout_s, transport=transport) as client:
        generators = {
            shown(url): await _probe(client, url.rstrip("/") + "/models") for url in endpoints
        }
        judged = {
            name: LOCAL if judge.health_url is None else await _probe(client, judge.health_url)
            for name, judge in judges.items()
        }
    return HealthReport(stored, generators, judged)


async def _probe(client: httpx.AsyncClient, url: str) -> str:
    try:
        response = await client.get(url)
    except httpx.HTTPError as error:
        return f"unreachable: {type(error).__name__}"
    return OK if response.status_code == 200 else f"HTTP {response.status_code}"
