"""Judge settings as one tagged union, and the judge they build."""

from __future__ import annotations

from typing import Annotated

import httpx
from pydantic import Field

from judges.backends.base import Judge
from judges.backends.openai import OpenAIJudge, OpenAIJudgeConfig
from judges.backends.reference import ReferenceJudge, ReferenceJudgeConfig
from judges.backends.replay import ReplayJudge, ReplayJudgeConfig
from judges.usage import JudgePrices

JudgeConfig = Annotated[
    OpenAIJudgeConfig | ReferenceJudgeConfig | ReplayJudgeConfig, Field(discriminator="kind")
]


def judge_prices(config: JudgeConfig) -> JudgePrices | None:
    """The per-token prices configured for a judge (only remote judges are priced)."""
    return config.prices if isinstance(config, OpenAIJudgeConfig) else None


def build_judge(config: JudgeConfig, transport: httpx.AsyncBaseTransport | None = None) -> Judge:
    """The judge backend for `config`; `transport` replaces the network for the openai one."""
    if isinstance(config, OpenAIJudgeConfig):
        return OpenAIJudge(config, transport=transport)
    if isinstance(config, ReferenceJudgeConfig):
        return ReferenceJudge(config)
    return ReplayJudge(config)
