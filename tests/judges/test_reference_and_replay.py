import asyncio
from pathlib import Path

import pytest

from common.jsonl import write_records
from judges.backends.reference import ReferenceJudge, chrf
from judges.backends.replay import ReplayJudge, ReplayJudgeConfig
from judges.errors import MissingReferenceError, ReplayMissingError
from judges.pairs import Pair
from judges.results import result_record
from judges.sxs import SideBySide
from judges.verdicts import Outcome
from tests.judges.scripted import ScriptedJudge, longer_wins

REFERENCE = "The capital of France is Paris."


def reference_pair(i: int, a: str, b: str, reference: str | None = REFERENCE) -> Pair:
    return Pair(id=str(i), instruction="Capital?", response_a=a, response_b=b, reference=reference)


def test_reference_judge_prefers_the_answer_closer_to_the_reference() -> None:
    pairs = [
        reference_pair(0, "The capital of France is Paris.", "France is a country in Europe."),
        reference_pair(1, "I do not know.", "Paris is the capital of France."),
    ]
    results = asyncio.run(SideBySide(ReferenceJudge()).run(pairs))
    assert [r.outcome for r in results] == [Outcome.WIN, Outcome.LOSS]
    ab = results[0].ab
    assert ab is not None and ab.reply.score_1 == pytest.approx(100.0)
    assert ab.reply.score_1 == chrf(pairs[0].response_a, REFERENCE)
    assert ab.reply.score_2 == chrf(pairs[0].response_b, REFERENCE)


def test_equal_distance_to_the_reference_is_a_tie_under_the_order_swap() -> None:
    results = asyncio.run(SideBySide(ReferenceJudge()).run([reference_pair(0, "xyz", "wwk")]))
    assert results[0].outcome is Outcome.TIE


def test_reference_judge_needs_a_reference() -> None:
    with pytest.raises(MissingReferenceError, match="pair '3' has no 'reference'"):
        asyncio.run(SideBySide(ReferenceJudge()).run([reference_pair(3, "a", "b", None)]))


def test_replay_reproduces_a_recorded_run(tmp_path: Path) -> None:
    pairs = [
        Pair(id=str(i), instruction="q", response_a="a" * i, response_b="bbb") for i in range(6)
    ]
    scripted = [r for r in asyncio.run(SideBySide(ScriptedJudge(longer_wins)).run(pairs))]
    recorded = tmp_path / "recorded.jsonl"
    write_records(recorded, (result_record(r) for r in scripted))

    replay = ReplayJudge(ReplayJudgeConfig(path=recorded))
    replayed = asyncio.run(SideBySide(replay).run(pairs))
    assert [r.outcome for r in replayed] == [r.outcome for r in scripted]
    assert [r.outcome for r in replayed][:3] == [Outcome.LOSS] * 3

    missing = Pair(id="99", instruction="q", response_a="x", response_b="y")
    with pytest.raises(ReplayMissingError, match="no 'ab' verdict for pair '99'"):
        asyncio.run(SideBySide(replay).run([missing]))
