"""Judge settings as one tagged union, and the judge they build."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, get_args

import httpx
from pydantic import BaseModel, Field

from judges.backends.base import Judge
from judges.backends.batch import BatchJudge
from judges.backends.batch_config import BatchJudgeConfig
from judges.backends.openai import JudgeModelConfig, OpenAIJudge, OpenAIJudgeConfig
from judges.backends.reference import ReferenceJudge, ReferenceJudgeConfig
from judges.backends.replay import ReplayJudge, ReplayJudgeConfig
from judges.batch_ledger import BatchLedger
from judges.usage import JudgePrices

JudgeConfig = Annotated[
    OpenAIJudgeConfig | BatchJudgeConfig | ReferenceJudgeConfig | ReplayJudgeConfig,
    Field(discriminator="kind"),
]
# each backend's settings by its kind, read from the union (the one list of judge kinds)
JUDGE_KINDS: dict[str, type[BaseModel]] = {
    member.model_fields["kind"].default: member for member in get_args(get_args(JudgeConfig)[0])
}


def judge_prices(config: JudgeConfig) -> JudgePrices | None:
    """The per-token prices configured for a judge (only remote judges are priced)."""
    return config.prices if isinstance(config, JudgeModelConfig) else None


def build_judge(
    config: JudgeConfig,
    transport: httpx.AsyncBaseTransport | None = None,
    store: Path | None = None,
) -> Judge:
    """The judge backend for `config`; `transport` replaces the network for remote judges;
    a batch judge keeps its batch ids in `store` (unless its config names a ledger)."""
    if isinstance(config, OpenAIJudgeConfig):
        return OpenAIJudge(config, transport=transport)
    if isinstance(config, BatchJudgeConfig):
        ledger = config.ledger or store
        if ledger is None:
            raise ValueError("a batch judge keeps its batch ids in a store: give one")
        return BatchJudge(config, BatchLedger(ledger), transport=transport)
    if isinstance(config, ReferenceJudgeConfig):
        return ReferenceJudge(config)
    return ReplayJudge(config)
