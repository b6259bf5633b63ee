"""What the batch path uses of the service, and nothing more: the service's own request checks
and caches, the judges and their settings, the backends' health check. `sxs batch` builds it
from the service (`service.cli.batch`); the batch path never sees the service's wiring."""

from __future__ import annotations

from dataclasses import dataclass

from common.openai_http import ClientSettings
from generators.cache import GenerationCache
from generators.registry import Registry
from judges.backends.base import Judge
from judges.backends.factory import JudgeConfig
from judges.cache import JudgmentCache
from judges.prompts import JudgeTemplate
from service.jobs.comparison_requests import ComparisonRequests
from service.jobs.health import HealthChecker


@dataclass(frozen=True, slots=True)
class BatchContext:
    """The parts of the service a batch run reads and writes."""

    requests: ComparisonRequests  # a cell's judges and items, checked as the service checks
    registry: Registry
    judges: dict[str, Judge]
    judge_configs: dict[str, JudgeConfig]
    template: JudgeTemplate
    generation_cache: GenerationCache
    judgment_cache: JudgmentCache
    health: HealthChecker
    parse_attempts: int
    generator_client: ClientSettings
