"""A judge with several base URLs: the load is shared (fewest in flight first), a retry goes
to the next replica, and a replica that is down costs no verdict."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from pydantic import ValidationError

from judges.backends.openai import OpenAIJudge, OpenAIJudgeConfig
from judges.pairs import Pair
from judges.sxs import SideBySide
from judges.verdicts import Outcome
from tests.openai_stub import mock_handler

REPLICAS = ["http://judge-a.test/v1", "http://judge-b.test/v1"]
PAIRS = [
    Pair(id=str(i), instruction="q", response_a="a" * (i + 2), response_b="b" * (10 - i))
    for i in range(10)
]


def run(down: set[str], delay_s: float = 0.0) -> tuple[list[Outcome], Counter[str]]:
    answered: Counter[str] = Counter()
    good = mock_handler()

    async def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host in down:
            raise httpx.ConnectError("connection refused")
        await asyncio.sleep(delay_s)
        answered[request.url.host] += 1
        return good(request)

    async def go() -> list[Outcome]:
        config = OpenAIJudgeConfig(
            base_urls=REPLICAS, model="judge", max_attempts=2, backoff_initial_s=0.0
        )
        judge = OpenAIJudge(config, transport=httpx.MockTransport(handle))
        try:
            return [result.outcome for result in await SideBySide(judge).run(PAIRS)]
        finally:
            await judge.aclose()

    return asyncio.run(go()), answered


def expected() -> list[Outcome]:
    """The fake judge prefers the longer response."""
    return [Outcome.WIN if len(p.response_a) > len(p.response_b) else
            Outcome.LOSS if len(p.response_a) < len(p.response_b) else Outcome.TIE
            for p in PAIRS]  # fmt: skip


def test_replicas_share_the_calls() -> None:
    outcomes, answered = run(down=set(), delay_s=0.01)
    assert outcomes == expected()
    assert sum(answered.values()) == 20  # 10 pairs, both orders
    assert answered["judge-a.test"] >= 7 and answered["judge-b.test"] >= 7


def test_a_replica_that_is_down_fails_over_to_the_other() -> None:
    outcomes, answered = run(down={"judge-a.test"})
    assert outcomes == expected()
    assert answered == Counter({"judge-b.test": 20})


def test_base_url_or_base_urls_not_both() -> None:
    with pytest.raises(ValidationError, match="base_url or base_urls"):
        OpenAIJudgeConfig(base_url=REPLICAS[0], base_urls=REPLICAS, model="judge")
    with pytest.raises(ValidationError, match="base_url is required"):
        OpenAIJudgeConfig(model="judge")
    single = OpenAIJudgeConfig(base_url=REPLICAS[0], model="judge")
    assert single.base_urls == [REPLICAS[0]]
