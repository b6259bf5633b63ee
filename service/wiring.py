"""Every part of the service, built once from the settings (`build_service`) and injected into
the API; nothing is built at import time."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx

from common.store import process_owner
from generators.cache import GenerationCache
from generators.eval_sets import EvalSet, load_eval_sets
from generators.registry import Registry, load_registry
from judges.backends.base import Judge
from judges.backends.factory import build_judge, judge_prices
from judges.cache import JudgmentCache
from judges.claims import JudgmentClaims
from judges.prompts import PAPER_TEMPLATE, JudgeTemplate
from service.jobs.comparisons import Comparisons
from service.jobs.consistency import KIND as CONSISTENCY
from service.jobs.consistency import ConsistencyJobs
from service.jobs.envelope import COMPARISON
from service.jobs.health import HealthChecker
from service.jobs.manager import JobManager
from service.jobs.metrics import Metrics
from service.jobs.requests import ComparisonRequest
from service.jobs.store import JobStore
from service.plans.model import RunPlan
from service.plans.plan import Planner
from service.settings import ServiceSettings


@dataclass
class Service:
    """The parts the routes use, built once per app."""

    settings: ServiceSettings
    registry: Registry
    eval_sets: dict[str, EvalSet]
    judges: dict[str, Judge]
    template: JudgeTemplate
    store: JobStore
    judgment_cache: JudgmentCache
    comparisons: Comparisons
    consistency: ConsistencyJobs
    jobs: JobManager
    metrics: Metrics
    health: HealthChecker

    @property
    def planner(self) -> Planner:
        """Plans of runs on this service's store (`service.plans`): no call, no job."""
        comparisons = self.comparisons
        return Planner(comparisons, comparisons.generation_cache, self.judgment_cache,
                       self.settings.judges, comparisons.generator_client)  # fmt: skip

    async def plan(self, request: ComparisonRequest) -> RunPlan:
        """What a comparison's run would do: no call, no job."""
        return await self.planner.comparisons([request])

    def token_ok(self, header: str | None) -> bool:
        """Whether the Authorization header carries the configured token (constant time)."""
        if self.settings.token is None:
            return True
        expected = f"Bearer {self.settings.token.get_secret_value()}".encode()
        return header is not None and secrets.compare_digest(header.encode(), expected)


def build_service(
    settings: ServiceSettings, transport: httpx.AsyncBaseTransport | None = None
) -> Service:
    """Every part of the service; `transport` replaces the network for generators and judges."""
    registry = load_registry(settings.registry)
    eval_sets = load_eval_sets(settings.eval_sets)
    configs = settings.judges
    judges = {name: build_judge(config, transport, settings.db) for name, config in configs.items()}
    template = (
        JudgeTemplate.from_file(settings.judge_template)
        if settings.judge_template
        else PAPER_TEMPLATE
    )
    busy_s = settings.store_busy_timeout_s
    store = JobStore(settings.db, busy_s)
    generator_client = settings.generator_client(transport)
    judgment_cache = JudgmentCache(settings.db, settings.store_busy_timeout_s)
    metrics = Metrics()
    comparisons = Comparisons(
        registry=registry,
        eval_sets=eval_sets,
        judges=judges,
        default_judge=settings.default_judge,
        template=template,
        store=store,
        generation_cache=GenerationCache(settings.db, settings.store_busy_timeout_s),
        judgment_cache=judgment_cache,
        parse_attempts=settings.parse_attempts,
        item_concurrency=settings.item_concurrency,
        max_items=settings.max_items_per_job,
        generator_client=generator_client,
        on_item=metrics.item_done,
        prices={name: judge_prices(config) for name, config in settings.judges.items()},
        claims=JudgmentClaims(
            settings.db, process_owner(), busy_timeout_s=settings.store_busy_timeout_s
        ),
    )
    consistency = ConsistencyJobs(
        registry=registry,
        mcq_sets=settings.mcq_sets,
        store=store,
        cache_file=settings.db,
        client=generator_client,
    )
    runners = {COMPARISON: comparisons.run_job, CONSISTENCY: consistency.run}
    jobs = JobManager(
        store,
        runners,
        metrics,
        settings.jobs_in_parallel,
        lease_s=settings.job_lease_s,
        patience_s=settings.store_patience_s,
    )
    return Service(
        settings,
        registry,
        eval_sets,
        judges,
        template,
        store,
        judgment_cache,
        comparisons,
        consistency,
        jobs,
        metrics,
        HealthChecker(store, registry, judges, transport, ttl_s=settings.health_cache_s),
    )
