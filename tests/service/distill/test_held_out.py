"""A distilled judge's held-out verdicts: judged through the cache, carded against the teacher,
and kept as a finished stage (no judge call the next time) while judge, template and held-out
set stay the same."""

from __future__ import annotations

import asyncio
from pathlib import Path

from common.jsonl import write_records
from judges.backends.base import JudgeCall
from judges.cache import JudgmentCache
from judges.distillation import TeacherPair
from judges.prompts import PAPER_TEMPLATE
from judges.verdicts import Verdict
from service.distill.evaluation import judge_held_out, stamp_of
from tests.judges.scripted import ScriptedJudge, longer_wins


def teacher_pair(item: int) -> TeacherPair:
    """The teacher prefers the longer answer, A, in both orders."""
    return TeacherPair(
        id=f"en:{item}", item=str(item), language="en", instruction=f"question {item}",
        response_a="a longer answer " * (item + 1), response_b="short",
        ab=Verdict.FIRST, ba=Verdict.SECOND,
    )  # fmt: skip


def undecided_on_item_0(call: JudgeCall) -> str:
    return "?" if "question 0" in call.instruction else longer_wins(call)


def test_held_out_verdicts_are_kept_until_judge_or_set_changes(tmp_path: Path) -> None:
    held_out, results = tmp_path / "held_out.jsonl", tmp_path / "held_out.distilled.jsonl"
    write_records(held_out, (teacher_pair(item).record() for item in range(4)))
    cache = JudgmentCache(tmp_path / "store.db")

    def judged(judge: ScriptedJudge) -> tuple[int, int, float]:
        card = asyncio.run(judge_held_out(held_out, judge, PAPER_TEMPLATE, cache, results))
        return len(judge.calls), card.agreement.n, card.agreement.percent

    first = ScriptedJudge(undecided_on_item_0)
    calls, n, agreement = judged(first)
    assert calls == 2 * 3 + 2 * 3  # item 0: three parse attempts an order, then invalid
    assert (n, agreement) == (3, 100.0) and stamp_of(results).is_file()

    again = ScriptedJudge(undecided_on_item_0)  # the same judge: the finished stage is kept
    assert judged(again) == (0, 3, 100.0)

    other = ScriptedJudge(longer_wins, identity="scripted-2")  # another judge asks again
    assert judged(other) == (8, 4, 100.0)

    write_records(held_out, (teacher_pair(item).record() for item in range(3)))
    renewed = ScriptedJudge(undecided_on_item_0)  # a new set: the cache serves what is valid
    calls, n, _ = judged(renewed)
    assert (calls, n) == (2 * 3, 2)
    assert {call.instruction for call in renewed.calls} == {"question 0"}
