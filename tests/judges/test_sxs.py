"""The order-swap protocol over many pairs, with a scripted judge and a real SQLite cache."""

import asyncio
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from judges.backends.base import JudgeCall, JudgeReply
from judges.cache import JudgmentCache
from judges.errors import JudgeUnavailableError
from judges.pairs import Pair
from judges.results import judged_pair
from judges.statistics import summarize
from judges.sxs import SideBySide
from judges.verdicts import Order, Outcome
from tests.judges.scripted import ScriptedJudge, longer_wins


def pair(i: int, a: str, b: str) -> Pair:
    return Pair(id=str(i), instruction=f"instruction {i}", response_a=a, response_b=b)


def test_outcomes_follow_the_two_orders() -> None:
    judge = ScriptedJudge(longer_wins)
    pairs = [pair(0, "long answer", "short"), pair(1, "short", "long answer"), pair(2, "aa", "bb")]
    results = asyncio.run(SideBySide(judge).run(pairs))
    assert [r.outcome for r in results] == [Outcome.WIN, Outcome.LOSS, Outcome.TIE]
    assert len(judge.calls) == 6
    assert sorted((c.pair_id, c.order) for c in judge.calls) == [
        (str(i), order) for i in range(3) for order in (Order.AB, Order.BA)
    ]


def test_identical_responses_are_a_tie_with_zero_calls() -> None:
    judge = ScriptedJudge(longer_wins)
    pairs = [pair(0, "same", "same"), pair(1, " same\n", "same")]
    results = asyncio.run(SideBySide(judge).run(pairs))
    assert [(r.outcome, r.identical) for r in results] == [(Outcome.TIE, True)] * 2
    assert judge.calls == []


def test_unparseable_output_is_retried_then_counted_invalid_and_excluded() -> None:
    answers = {"ok": iter(["maybe", "1", "2"]), "bad": iter(["?", "??", "???", "never"])}

    def script(call: JudgeCall) -> str:
        if call.instruction == "instruction 0":
            return next(answers["ok"])
        return next(answers["bad"]) if call.order is Order.AB else "1"

    judge = ScriptedJudge(script)
    sxs = SideBySide(judge, parse_attempts=3, concurrency=1)
    results = asyncio.run(sxs.run([pair(0, "x1", "y1"), pair(1, "x2", "y2")]))
    assert results[0].outcome is Outcome.WIN
    assert results[0].ab is not None and results[0].ab.attempts == 2
    assert results[1].outcome is Outcome.INVALID
    assert results[1].ab is not None and results[1].ab.attempts == 3
    assert results[1].ab.reply.raw == "???"
    assert sxs.counts.judge_calls == 2 + 1 + 3 + 1
    assert sxs.counts.parse_retries == 1 + 2
    summary = summarize([judged_pair(r) for r in results])
    assert (summary.invalid, summary.wins, summary.score) == (1, 1, 100.0)


def test_a_second_run_on_the_same_store_makes_no_call(tmp_path: Path) -> None:
    pairs = [pair(i, "a" * i, "b" * (10 - i)) for i in range(10)]
    first_judge = ScriptedJudge(longer_wins)
    first = SideBySide(first_judge, cache=JudgmentCache(tmp_path / "store.db"))
    first_results = asyncio.run(first.run(pairs))
    assert first.counts.judge_calls == 20

    second_judge = ScriptedJudge(longer_wins)
    second = SideBySide(second_judge, cache=JudgmentCache(tmp_path / "store.db"))
    second_results = asyncio.run(second.run(pairs))
    assert second_judge.calls == []
    assert second.counts.cache_hits == 20
    assert [r.outcome for r in second_results] == [r.outcome for r in first_results]
    assert all(r.ab is not None and r.ab.cached for r in second_results)


def test_the_cache_key_separates_judges_and_templates(tmp_path: Path) -> None:
    from judges.prompts import JudgeTemplate

    pairs = [pair(0, "a", "bb")]
    store = JudgmentCache(tmp_path / "store.db")
    asyncio.run(SideBySide(ScriptedJudge(longer_wins, "judge-1"), cache=store).run(pairs))
    other_judge = ScriptedJudge(longer_wins, "judge-2")
    asyncio.run(SideBySide(other_judge, cache=store).run(pairs))
    other_template = JudgeTemplate("t", "{instruction}|{response_1}|{response_2}")
    third = ScriptedJudge(longer_wins, "judge-1")
    asyncio.run(SideBySide(third, cache=store, template=other_template).run(pairs))
    assert (len(other_judge.calls), len(third.calls), store.count()) == (2, 2, 6)


def test_replies_made_before_a_failure_are_kept(tmp_path: Path) -> None:
    budget = iter(range(7))

    def failing(call: JudgeCall) -> str:
        if next(budget, None) is None:
            raise JudgeUnavailableError("judge endpoint went away")
        return longer_wins(call)

    pairs = [pair(i, "a" * i, "b" * 3) for i in range(10)]
    store = JudgmentCache(tmp_path / "store.db")
    with pytest.raises(JudgeUnavailableError):
        asyncio.run(SideBySide(ScriptedJudge(failing), cache=store, concurrency=2).run(pairs))
    assert store.count() == 7

    resumed = ScriptedJudge(longer_wins)
    asyncio.run(SideBySide(resumed, cache=JudgmentCache(tmp_path / "store.db")).run(pairs))
    assert len(resumed.calls) == 20 - 7


texts = st.text(alphabet="ab ", min_size=1, max_size=12).filter(lambda t: t.strip())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(texts, texts), min_size=1, max_size=25))
def test_swapping_a_and_b_mirrors_the_score(responses: list[tuple[str, str]]) -> None:
    def score(swapped: bool) -> tuple[float | None, float | None, float | None]:
        pairs = [pair(i, b, a) if swapped else pair(i, a, b) for i, (a, b) in enumerate(responses)]
        results = asyncio.run(SideBySide(ScriptedJudge(longer_wins)).run(pairs))
        # the score and its CI mirror; the length-controlled score (its own bootstrap, ~1 s) is
        # not what this property is about
        summary = summarize(
            [judged_pair(r) for r in results], samples=200, seed=7, length_samples=None
        )
        return summary.score, summary.ci_low, summary.ci_high

    forward, backward = score(False), score(True)
    assert forward[0] is not None and backward[0] is not None
    assert forward[0] + backward[0] == pytest.approx(100.0)
    assert forward[1] is not None and backward[2] is not None
    assert forward[1] + backward[2] == pytest.approx(100.0)


def test_an_invalid_reply_is_stored_but_asked_again_by_a_later_run(tmp_path: Path) -> None:
    """A judge that was broken (no verdict) is asked again once fixed; its valid reply
    replaces the invalid one, and a valid reply is never replaced."""
    pairs = [pair(0, "long answer", "short")]
    broken = ScriptedJudge(lambda call: "I cannot decide")
    first = SideBySide(broken, cache=JudgmentCache(tmp_path / "s.db"), parse_attempts=2)
    (result,) = asyncio.run(first.run(pairs))
    assert result.outcome is Outcome.INVALID
    assert len(broken.calls) == 4 and JudgmentCache(tmp_path / "s.db").count() == 2

    fixed = ScriptedJudge(longer_wins)
    second = SideBySide(fixed, cache=JudgmentCache(tmp_path / "s.db"))
    (result,) = asyncio.run(second.run(pairs))
    assert result.outcome is Outcome.WIN
    assert (len(fixed.calls), second.counts.cache_hits) == (2, 0)

    never_asked = ScriptedJudge(lambda call: "2")
    third = SideBySide(never_asked, cache=JudgmentCache(tmp_path / "s.db"))
    (result,) = asyncio.run(third.run(pairs))
    assert (result.outcome, never_asked.calls, third.counts.cache_hits) == (Outcome.WIN, [], 2)
    assert JudgmentCache(tmp_path / "s.db").count() == 2


def test_a_judge_whose_retries_cannot_differ_is_asked_once() -> None:
    judge = ScriptedJudge(lambda call: "neither")
    judge.retries_differ = False
    sxs = SideBySide(judge, parse_attempts=5)
    (result,) = asyncio.run(sxs.run([pair(0, "x", "y")]))
    assert result.outcome is Outcome.INVALID
    assert (len(judge.calls), sxs.counts.parse_retries) == (2, 0)


def test_retries_are_numbered_for_the_backend() -> None:
    answers = iter(["?", "1"])
    judge = ScriptedJudge(lambda call: next(answers) if call.order is Order.AB else "2")
    asyncio.run(SideBySide(judge, parse_attempts=3, concurrency=1).run([pair(0, "x", "y")]))
    assert sorted((c.order.value, c.attempt) for c in judge.calls) == [
        ("ab", 1),
        ("ab", 2),
        ("ba", 1),
    ]


def test_empty_responses_are_judged_as_they_are_and_counted_per_side() -> None:
    judge = ScriptedJudge(longer_wins)
    pairs = [
        pair(0, "", "an answer"),
        pair(1, "an answer", " "),
        pair(2, "", "\n"),
        pair(3, "a", "b"),
    ]
    results = asyncio.run(SideBySide(judge).run(pairs))
    assert [r.outcome for r in results] == [Outcome.LOSS, Outcome.WIN, Outcome.TIE, Outcome.TIE]
    assert len(judge.calls) == 2 * 3  # the two empty responses are identical: no call
    assert any(call.first == "" for call in judge.calls)  # the judge saw the empty answer
    summary = summarize([judged_pair(r) for r in results])
    assert (summary.empty_a, summary.empty_b, summary.identical) == (2, 2, 1)


def test_identical_presentations_in_flight_make_one_call() -> None:
    """A judge that takes time (a network call): eight copies of one pair cost one call per
    order, not eight; the copies read the shared reply."""

    class Slow(ScriptedJudge):
        async def judge(self, call: JudgeCall) -> JudgeReply:
            await asyncio.sleep(0.02)
            return await super().judge(call)

    judge = Slow(longer_wins)
    pairs = [  # eight ids, one content: identical presentations
        Pair(id=str(i), instruction="Say it.", response_a="a long answer", response_b="short")
        for i in range(8)
    ]
    sxs = SideBySide(judge, concurrency=8)
    results = asyncio.run(sxs.run(pairs))
    assert [r.outcome for r in results] == [Outcome.WIN] * 8
    assert len(judge.calls) == 2
    assert (sxs.counts.judge_calls, sxs.counts.shared) == (2, 14)


def test_a_shared_failure_reaches_every_waiter_and_nothing_is_stored(tmp_path: Path) -> None:
    class Failing(ScriptedJudge):
        async def judge(self, call: JudgeCall) -> JudgeReply:
            await asyncio.sleep(0.02)
            self.calls.append(call)
            raise JudgeUnavailableError("judge endpoint went away")

    judge = Failing(longer_wins)
    pairs = [Pair(id=i, instruction="q", response_a="a", response_b="bb") for i in ("0", "1")]
    store = JudgmentCache(tmp_path / "s.db")
    with pytest.raises(JudgeUnavailableError):
        asyncio.run(SideBySide(judge, cache=store, concurrency=2).run(pairs))
    assert len(judge.calls) == 2 and store.count() == 0  # one call per order, then the error


class CountingJudge(ScriptedJudge):
    """A scripted judge whose server reports 10 prompt and 2 completion tokens per call."""

    async def judge(self, call: JudgeCall) -> JudgeReply:
        reply = await super().judge(call)
        return JudgeReply(reply.raw, reply.verdict, prompt_tokens=10, completion_tokens=2)


def test_a_reply_costs_the_tokens_of_every_attempt_it_took(tmp_path: Path) -> None:
    answers = iter(["?", "??", "1"])
    judge = CountingJudge(lambda call: next(answers) if call.order is Order.AB else "2")
    store = JudgmentCache(tmp_path / "store.db")
    sxs = SideBySide(judge, parse_attempts=3, concurrency=1, cache=store)
    (result,) = asyncio.run(sxs.run([pair(0, "x", "y")]))
    assert result.ab is not None and result.ba is not None
    assert (result.ab.reply.prompt_tokens, result.ab.reply.completion_tokens) == (30, 6)
    assert (result.ba.reply.prompt_tokens, result.ba.reply.completion_tokens) == (10, 2)
    assert judged_pair(result).usage.prompt_tokens == 40
    (cached,) = asyncio.run(
        SideBySide(CountingJudge(longer_wins), cache=store).run([pair(0, "x", "y")])
    )
    assert cached.ab is not None and cached.ab.cached and cached.ab.reply.prompt_tokens == 30
