"""Reading what comes back through Ray: error bodies, Arrow's nulls, a pipeline's failure."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from generators.cache import StoredGeneration
from generators.client import GenerationRequest
from judges.backends.base import JudgeCall
from judges.backends.openai import JudgeMode, OpenAIJudgeConfig
from judges.verdicts import Order, Verdict
from service.batch.answers import Run, collect, pipeline_failure, without_nulls
from service.batch.driver import _arrived
from service.batch.wire import Failure, read_generation, read_judgment
from service.plans.units import GenerationUnit, JudgmentUnit

GENERATION = GenerationUnit("k", GenerationRequest("mono-es", "es", "7", "Hola"))
CALL = JudgeCall("7", Order.AB, "Hola", "uno", "dos", "prompt")
LOGPROBS_JUDGE = OpenAIJudgeConfig(
    base_url="http://127.0.0.1:1/v1", model="judge", mode=JudgeMode.LOGPROBS
)


def test_arrow_nulls_are_dropped_before_a_logprobs_verdict_is_read() -> None:
    """Ray Data gives each row's top_logprobs the other rows' tokens as null: read as they
    come back, the verdict is the one the server gave."""
    through_ray = {
        "choices": [{
            "text": "2",
            "logprobs": {"top_logprobs": [{"2": -0.2, "1": None, "\n": -1.5, "Sí": None}]},
        }],
        "usage": {"prompt_tokens": 31, "completion_tokens": 1},
    }  # fmt: skip
    reply = read_judgment(without_nulls(through_ray), LOGPROBS_JUDGE, JudgmentUnit("k", "j", CALL))
    assert not isinstance(reply, Failure)
    assert reply.verdict is Verdict.SECOND
    assert (reply.score_1, reply.score_2) == (None, -0.2)
    assert reply.prompt_tokens == 31


def test_an_error_body_is_a_failure_with_the_servers_reason() -> None:
    answer = {"error": {"message": "The model `mono-xx` does not exist.", "code": 404}}
    read = read_generation(answer, True, GENERATION)
    assert read == Failure(
        "generation mono-es · es · 7",
        "the server answered an error: The model `mono-xx` does not exist.",
    )


def test_a_null_content_is_a_failure_and_an_empty_one_a_response() -> None:
    null = {"choices": [{"message": {"role": "assistant"}, "finish_reason": "stop"}]}
    assert isinstance(read_generation(without_nulls(null), True, GENERATION), Failure)
    empty = {"choices": [{"message": {"content": ""}, "finish_reason": "stop"}]}
    assert read_generation(empty, True, GENERATION) == StoredGeneration("", "stop", None)


def test_a_judge_answer_without_logprobs_is_a_failure() -> None:
    answer = {"choices": [{"text": "1"}]}
    read = read_judgment(answer, LOGPROBS_JUDGE, JudgmentUnit("k", "llm", CALL))
    assert isinstance(read, Failure) and read.what == "judge llm · 7 · ab"
    assert "logprobs mode needs choices[0].logprobs" in read.reason


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            RuntimeError(
                "ray.exceptions.RayTaskError(RuntimeError): ray::MapWorker()\nRuntimeError: "
                "Reached maximum retries of 3 for input row {'model': 'judge', 'prompt': 'x'}. "
                "Previous Exception: ClientConnectorError. Full Traceback: \nTraceback ..."
            ),
            "the endpoint did not answer: reached maximum retries of 3 (ClientConnectorError)",
        ),
        (ValueError("first\nsecond line\n"), "the Ray pipeline failed: second line"),
    ],
)
def test_a_pipeline_failure_is_one_line(error: Exception, reason: str) -> None:
    assert pipeline_failure(error) == reason


class Dataset:
    """What `_collect` reads of a Ray dataset: batches of (unit, answer JSON); `stops` raises
    as Ray's HTTP stage does when it gives up, after the first batch."""

    def __init__(self, units: list[int], stops: bool = False) -> None:
        self.units, self.stops = units, stops

    def iter_batches(self, **_: object) -> Iterator[dict[str, list[object]]]:
        half = self.units[: len(self.units) // 2] if self.stops else self.units
        yield {"unit": list(half), "answer": [json.dumps({"ok": unit}) for unit in half]}
        if self.stops:
            raise RuntimeError(
                "Reached maximum retries of 3 for input row {}. Previous Exception: X."
            )


def test_a_stopped_pipeline_fails_the_units_without_an_answer() -> None:
    failed: list[Failure] = []
    stopping = Run(Dataset([0, 2, 1, 3], stops=True), [0, 2, 1, 3], " (at the judge)")
    arrived = list(_arrived(collect([stopping]), ["a", "b", "c", "d"], failed))
    assert arrived == [[(0, {"ok": 0}), (2, {"ok": 2})], []]
    reason = "the endpoint did not answer: reached maximum retries of 3 (X) (at the judge)"
    assert failed == [Failure("b", reason), Failure("d", reason)]


def test_one_endpoint_that_stops_fails_only_its_own_units() -> None:
    failed: list[Failure] = []
    runs = [Run(Dataset([0, 1, 2, 3], stops=True), [0, 1, 2, 3]),
            Run(Dataset([4, 5, 6]), [4, 5, 6])]  # fmt: skip
    arrived = [pair for batch in _arrived(collect(runs), list("abcdefg"), failed)
               for pair in batch]  # fmt: skip
    assert sorted(index for index, _ in arrived) == [0, 1, 4, 5, 6]
    assert sorted(failure.what for failure in failed) == ["c", "d"]


def test_an_error_of_the_callers_own_work_propagates_and_fails_no_unit() -> None:
    failed: list[Failure] = []

    def store_each_batch() -> None:
        stopping = Run(Dataset([0, 2, 1, 3], stops=True), [0, 2, 1, 3])
        for _ in _arrived(collect([stopping]), ["a", "b", "c", "d"], failed):
            raise OSError("disk full")  # as a store write that fails

    with pytest.raises(OSError, match="disk full"):
        store_each_batch()
    assert failed == []
