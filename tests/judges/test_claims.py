"""Two processes on one store pay for a judge call once: each side-by-side run here stands for
a process (its own cache connection, flights and claims owner) on one real SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from judges.backends.base import JudgeCall, JudgeReply
from judges.cache import JudgmentCache
from judges.claims import JudgmentClaims
from judges.pairs import Pair
from judges.prompts import PAPER_TEMPLATE
from judges.sxs import SideBySide, presentations
from judges.verdicts import Outcome
from tests.judges.scripted import ScriptedJudge, longer_wins


class SlowJudge(ScriptedJudge):
    """Takes `seconds` a call, so the two processes' calls overlap."""

    def __init__(self, seconds: float) -> None:
        super().__init__(longer_wins)
        self.seconds = seconds

    async def judge(self, call: JudgeCall) -> JudgeReply:
        await asyncio.sleep(self.seconds)
        return await super().judge(call)


def process(store: Path, judge: SlowJudge, owner: str, lease_s: float = 60.0) -> SideBySide:
    claims = JudgmentClaims(store, owner, lease_s=lease_s)
    return SideBySide(judge, cache=JudgmentCache(store), flush_every=1, claims=claims)


def pairs(mirrored: bool) -> list[Pair]:
    """Ten items; the mirror image swaps A and B (m2–m1 against m1–m2): the same prompts."""
    found = []
    for i in range(10):
        a, b = f"answer one to {i}", f"the second, longer answer to {i}"
        a, b = (b, a) if mirrored else (a, b)
        found.append(Pair(id=str(i), instruction=f"Question {i}?", response_a=a, response_b=b))
    return found


def test_mirror_image_jobs_in_two_processes_make_each_call_once(tmp_path: Path) -> None:
    store = tmp_path / "sxs.db"
    judge_a, judge_b = SlowJudge(0.05), SlowJudge(0.05)

    async def both() -> tuple[list[Outcome], list[Outcome]]:
        one, other = await asyncio.gather(
            process(store, judge_a, "A").run(pairs(mirrored=False)),
            process(store, judge_b, "B").run(pairs(mirrored=True)),
        )
        return [r.outcome for r in one], [r.outcome for r in other]

    outcomes_a, outcomes_b = asyncio.run(both())
    assert outcomes_a == [Outcome.LOSS] * 10 and outcomes_b == [Outcome.WIN] * 10
    assert len(judge_a.calls) + len(judge_b.calls) == 20  # 20 distinct prompts, once each


def test_a_claim_whose_owner_died_is_taken_over_when_its_lease_lapses(tmp_path: Path) -> None:
    store = tmp_path / "sxs.db"
    judge = SlowJudge(0.0)
    (pair,) = pairs(mirrored=False)[:1]
    sxs = process(store, judge, "B", lease_s=0.3)
    key = sxs._key(presentations(pair, PAPER_TEMPLATE)[0])
    assert JudgmentClaims(store, "dead", lease_s=0.3).take(key)  # a process that died holding it
    (result,) = asyncio.run(sxs.run([pair]))
    assert result.outcome is Outcome.LOSS and len(judge.calls) == 2
