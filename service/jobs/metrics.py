"""Prometheus metrics of one app (its own registry, so apps in one process stay apart)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from judges.panel import PanelResult
from judges.sxs import PairResult


class Metrics:
    """Jobs, finished items (their rate is items/s), backend errors and cache hits."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.jobs_submitted = Counter(
            "sxs_jobs_submitted", "comparisons created", registry=self.registry
        )
        self.jobs_finished = Counter(
            "sxs_jobs_finished", "comparisons ended", ["status"], registry=self.registry
        )
        self.jobs_running = Gauge("sxs_jobs_running", "comparisons running", registry=self.registry)
        self.items = Counter("sxs_items", "comparison items finished", registry=self.registry)
        self.backend_errors = Counter(
            "sxs_backend_errors", "jobs failed by a backend", ["backend"], registry=self.registry
        )
        self.without_valid_verdict = Counter(
            "sxs_jobs_without_valid_verdict",
            "comparisons that ended with every verdict invalid (no score)",
            registry=self.registry,
        )
        self.store_write_errors = Counter(
            "sxs_store_write_errors",
            "jobs failed because the store could not be written",
            registry=self.registry,
        )
        self.cache_hits = Counter(
            "sxs_judgment_cache_hits", "judge replies read from the store", registry=self.registry
        )

    def item_done(self, result: PairResult | PanelResult) -> None:
        """Count a finished item and its cached judge replies (every panel judge's)."""
        self.items.inc()
        self.cache_hits.inc(sum(call.cached for call in result.calls))

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)
