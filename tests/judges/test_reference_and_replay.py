import asyncio
import json
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


def test_replay_reproduces_a_logprobs_mode_run(tmp_path: Path) -> None:
    """In logprobs mode the greedy token ('The') is no digit, yet the verdict is the more
    likely digit: replay must give that verdict back, with its scores, not re-parse 'The'."""
    import httpx

    from judges.backends.openai import JudgeMode, OpenAIJudge, OpenAIJudgeConfig
    from judges.verdicts import Verdict
    from tests.openai_stub import answers_in

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        first, second = answers_in(body["prompt"])
        one, two = (-1.0, -2.0) if len(first) >= len(second) else (-2.0, -1.0)
        choice = {
            "index": 0,
            "text": "The",
            "finish_reason": "length",
            "logprobs": {
                "tokens": ["The"],
                "token_logprobs": [-0.1],
                "top_logprobs": [{"The": -0.1, "1": one, "2": two}],
            },
        }
        return httpx.Response(200, json={"choices": [choice]})

    pairs = [
        Pair(id=str(i), instruction="q", response_a="a" * i, response_b="bbb") for i in range(1, 6)
    ]
    config = OpenAIJudgeConfig(base_url="http://judge.test/v1", model="j", mode=JudgeMode.LOGPROBS)
    live = OpenAIJudge(config, transport=httpx.MockTransport(handler))
    recorded_results = asyncio.run(SideBySide(live).run(pairs))
    recorded = tmp_path / "recorded.jsonl"
    write_records(recorded, (result_record(r) for r in recorded_results))

    replayed = asyncio.run(SideBySide(ReplayJudge(ReplayJudgeConfig(path=recorded))).run(pairs))
    # a longer A wins both orders; 'aaa' vs 'bbb' is Answer1 twice: a tie
    assert [r.outcome for r in replayed] == [Outcome.LOSS, Outcome.LOSS, Outcome.TIE] + [
        Outcome.WIN
    ] * 2
    first = replayed[0].ab
    assert first is not None
    assert (first.reply.raw, first.verdict) == ("The", Verdict.SECOND)
    assert (first.reply.score_1, first.reply.score_2) == (-2.0, -1.0)


def test_replay_parses_a_hand_written_record_without_a_verdict(tmp_path: Path) -> None:
    recorded = tmp_path / "hand.jsonl"
    recorded.write_text(
        '{"id": "1", "outcome": "win", "ab": {"raw": " 1\\n"}, "ba": {"raw": "2"}}\n', "utf-8"
    )
    pairs = [Pair(id="1", instruction="q", response_a="x", response_b="y")]
    (result,) = asyncio.run(SideBySide(ReplayJudge(ReplayJudgeConfig(path=recorded))).run(pairs))
    assert result.outcome is Outcome.WIN
