"""The openai judge against handlers that speak the OpenAI wire format (httpx.MockTransport)."""

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest

from judges.backends.base import JudgeCall, JudgeReply
from judges.backends.openai import (
    ApiKind,
    JudgeMode,
    OpenAIJudge,
    OpenAIJudgeConfig,
    verdict_from_logprobs,
)
from judges.errors import JudgeProtocolError, JudgeRequestRejectedError, JudgeUnavailableError
from judges.pairs import Pair
from judges.prompts import PAPER_TEMPLATE
from judges.sxs import SideBySide, presentations
from judges.verdicts import Outcome, Verdict
from tests.openai_stub import mock_handler, openai_response

Handler = Callable[[httpx.Request], httpx.Response]
URL = "http://judge.test/v1"


def config(**overrides: object) -> OpenAIJudgeConfig:
    settings: dict[str, object] = {
        "base_url": URL,
        "model": "judge-model",
        "backoff_initial_s": 0.0,
        "backoff_max_s": 0.0,
        "max_attempts": 3,
    }
    return OpenAIJudgeConfig.model_validate(settings | overrides)


def call(first: str = "a longer answer", second: str = "short") -> JudgeCall:
    pair = Pair(id="p", instruction="Say something", response_a=first, response_b=second)
    return presentations(pair, PAPER_TEMPLATE)[0]


def judge_once(handler: Handler, **overrides: object) -> JudgeReply:
    async def go() -> JudgeReply:
        judge = OpenAIJudge(config(**overrides), transport=httpx.MockTransport(handler))
        try:
            return await judge.judge(call())
        finally:
            await judge.aclose()

    return asyncio.run(go())


class Recorder:
    """Wraps a handler; keeps every request body."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.bodies: list[dict[str, object]] = []
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(json.loads(request.content))
        return self.handler(request)


@pytest.mark.parametrize("api", list(ApiKind))
def test_generate_mode_sends_a_greedy_two_token_request(api: ApiKind) -> None:
    recorder = Recorder(mock_handler())
    reply = judge_once(recorder, api=api, mode=JudgeMode.GENERATE)
    words = len(call().prompt.split())  # the stub's usage: a token per word, one per character
    assert reply == JudgeReply(
        raw="1", verdict=Verdict.FIRST, prompt_tokens=words, completion_tokens=1
    )
    body = recorder.bodies[0]
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("judge-model", 0.0, 2)
    assert "logprobs" not in body
    expected_path = "/v1/completions" if api is ApiKind.COMPLETIONS else "/v1/chat/completions"
    assert recorder.requests[0].url.path == expected_path
    prompt = call().prompt
    if api is ApiKind.COMPLETIONS:
        assert body["prompt"] == prompt
    else:
        assert body["messages"] == [{"role": "user", "content": prompt}]


@pytest.mark.parametrize("api", list(ApiKind))
def test_logprobs_mode_compares_the_two_digits_and_records_both(api: ApiKind) -> None:
    recorder = Recorder(mock_handler(lambda prompt: "2"))
    reply = judge_once(recorder, api=api, mode=JudgeMode.LOGPROBS, top_logprobs=5)
    assert reply.verdict is Verdict.SECOND
    assert reply.score_2 == pytest.approx(-0.2231, abs=1e-4)  # log 0.8
    assert reply.score_1 == pytest.approx(-1.8971, abs=1e-4)  # log 0.15
    body = recorder.bodies[0]
    assert body["max_tokens"] == 1
    if api is ApiKind.COMPLETIONS:
        assert body["logprobs"] == 5
    else:
        assert (body["logprobs"], body["top_logprobs"]) == (True, 5)


@pytest.mark.parametrize(
    ("top", "expected"),
    [
        ([("1", -0.1), ("2", -2.0)], (Verdict.FIRST, -0.1, -2.0)),
        ([("2", -0.1), (" 1", -2.0)], (Verdict.SECOND, -2.0, -0.1)),
        ([("1", -3.0), (" 1", -0.5), ("2", -1.0)], (Verdict.FIRST, -0.5, -1.0)),
        ([("2", -4.0), ("The", -0.1)], (Verdict.SECOND, None, -4.0)),
        ([("The", -0.1), ("Answer", -1.0)], (None, None, None)),
        ([("1", -0.7), ("2", -0.7)], (None, -0.7, -0.7)),
    ],
)
def test_verdict_from_logprobs(
    top: list[tuple[str, float]], expected: tuple[Verdict | None, float | None, float | None]
) -> None:
    assert verdict_from_logprobs(top) == expected


def test_the_api_key_is_sent_as_a_bearer_token() -> None:
    recorder = Recorder(mock_handler())
    judge_once(recorder, api_key="s3cret")
    assert recorder.requests[0].headers["authorization"] == "Bearer s3cret"


def flaky(failures: list[httpx.Response | Exception]) -> Recorder:
    """Fails with the given responses or errors first, then answers properly."""
    pending = iter(failures)
    good = mock_handler()

    def handle(request: httpx.Request) -> httpx.Response:
        failure = next(pending, None)
        if isinstance(failure, Exception):
            raise failure
        return failure if failure is not None else good(request)

    return Recorder(handle)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(503, text="overloaded"),
        httpx.Response(500, text="boom"),
        httpx.Response(429, text="slow down"),
        httpx.Response(200, text="<html>proxy error</html>"),
        httpx.ReadTimeout("timed out"),
        httpx.ConnectError("connection refused"),
    ],
)
def test_transient_failures_are_retried(failure: httpx.Response | Exception) -> None:
    recorder = flaky([failure, failure])
    assert judge_once(recorder, max_attempts=3).verdict is Verdict.FIRST
    assert len(recorder.requests) == 3


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (httpx.Response(502, text="bad gateway"), "HTTP 502"),
        (httpx.Response(200, text="not json"), "not JSON"),
        (httpx.ReadTimeout("timed out"), "timed out after"),
        (httpx.ConnectError("refused"), "ConnectError"),
    ],
)
def test_persistent_failures_raise_after_the_last_attempt(
    failure: httpx.Response | Exception, reason: str
) -> None:
    recorder = flaky([failure] * 10)
    with pytest.raises(JudgeUnavailableError, match=reason) as raised:
        judge_once(recorder, max_attempts=3)
    assert len(recorder.requests) == 3
    assert "http://judge.test/v1/completions" in str(raised.value)
    assert "after 3 attempts" in str(raised.value)


def test_a_client_error_is_not_retried() -> None:
    recorder = Recorder(
        lambda _: httpx.Response(404, json={"message": "The model `judge-model` does not exist."})
    )
    with pytest.raises(JudgeRequestRejectedError, match=r"HTTP 404.*does not exist"):
        judge_once(recorder)
    assert len(recorder.requests) == 1


@pytest.mark.parametrize("api", list(ApiKind))
def test_missing_logprobs_is_a_protocol_error_not_a_verdict(api: ApiKind) -> None:
    def no_logprobs(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        body.pop("logprobs")
        return httpx.Response(200, json=openai_response(body))

    recorder = Recorder(no_logprobs)
    with pytest.raises(JudgeProtocolError, match=r"without choices\[0\]\.logprobs.*generate"):
        judge_once(recorder, api=api, mode=JudgeMode.LOGPROBS)
    assert len(recorder.requests) == 1


def test_an_answer_without_choices_is_a_protocol_error() -> None:
    recorder = Recorder(lambda _: httpx.Response(200, json={"object": "error"}))
    with pytest.raises(JudgeProtocolError, match="without choices"):
        judge_once(recorder)


def test_concurrency_is_bounded() -> None:
    in_flight, peak = 0, 0

    class Counting(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.002)
            in_flight -= 1
            return mock_handler()(request)

    async def go() -> list[Outcome]:
        judge = OpenAIJudge(config(concurrency=4), transport=Counting())
        pairs = [
            Pair(id=str(i), instruction="q", response_a="a" * i, response_b="bbbb")
            for i in range(1, 30)
        ]
        try:
            return [r.outcome for r in await SideBySide(judge, concurrency=16).run(pairs)]
        finally:
            await judge.aclose()

    outcomes = asyncio.run(go())
    assert peak == 4
    assert outcomes[:3] == [Outcome.LOSS, Outcome.LOSS, Outcome.LOSS]
    assert outcomes[3] is Outcome.TIE  # equal length: Answer1 twice
    assert set(outcomes[4:]) == {Outcome.WIN}


@pytest.mark.parametrize(
    ("field", "value", "complaint"),
    [
        ("base_url", "localhost:8000", "not an http"),
        ("model", "", "at least 1 character"),
        ("concurrency", 0, "greater than or equal to 1"),
    ],
)
def test_bad_settings_are_rejected(field: str, value: object, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        config(**{field: value})


def test_orders_reach_the_server_swapped() -> None:
    recorder = Recorder(mock_handler())

    async def go() -> None:
        judge = OpenAIJudge(config(), transport=httpx.MockTransport(recorder))
        pair = Pair(id="p", instruction="q", response_a="AAAA", response_b="B")
        await SideBySide(judge, concurrency=1).run([pair])
        await judge.aclose()

    asyncio.run(go())
    prompts = sorted(str(body["prompt"]) for body in recorder.bodies)
    assert any("Answer1:\nAAAA\nAnswer2:\nB\n" in p for p in prompts)
    assert any("Answer1:\nB\nAnswer2:\nAAAA\n" in p for p in prompts)


def test_parse_retries_sample_so_they_can_differ_from_the_greedy_answer() -> None:
    """Greedy gives 'Answer1' every time; a retry is sampled (seeded) and can give a digit."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        text = "Answer1" if body["temperature"] == 0.0 else "2"
        return httpx.Response(200, json=openai_response(body, lambda _: text))

    recorder = Recorder(handler)

    async def go() -> list[Outcome]:
        judge = OpenAIJudge(config(retry_temperature=0.4), transport=httpx.MockTransport(recorder))
        pair = Pair(id="p", instruction="q", response_a="A", response_b="B")
        try:
            return [r.outcome for r in await SideBySide(judge, parse_attempts=3).run([pair])]
        finally:
            await judge.aclose()

    assert asyncio.run(go()) == [Outcome.TIE]  # '2' in both orders: each picks its Answer2
    sent = sorted((body["temperature"], body.get("seed")) for body in recorder.bodies)
    assert sent == [(0.0, None), (0.0, None), (0.4, 1), (0.4, 1)]


def test_logprobs_mode_spends_no_parse_retry() -> None:
    def nothing_useful(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        answer = openai_response(body, lambda _: "The")
        answer["choices"][0]["logprobs"]["top_logprobs"] = [{"The": -0.1, "A": -1.0}]
        return httpx.Response(200, json=answer)

    recorder = Recorder(nothing_useful)

    async def go() -> Outcome:
        judge = OpenAIJudge(
            config(mode=JudgeMode.LOGPROBS), transport=httpx.MockTransport(recorder)
        )
        pair = Pair(id="p", instruction="q", response_a="A", response_b="B")
        try:
            (result,) = await SideBySide(judge, parse_attempts=3).run([pair])
            return result.outcome
        finally:
            await judge.aclose()

    assert asyncio.run(go()) is Outcome.INVALID
    assert len(recorder.requests) == 2  # one per order: asking again gives the same numbers


def test_a_judge_server_that_accepts_but_never_answers_times_out() -> None:
    """A real socket on loopback that accepts connections and stays silent: the backend's own
    `timeout_s`, not a fake exception."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"

        async def go() -> JudgeReply:
            judge = OpenAIJudge(config(base_url=url, timeout_s=0.2, max_attempts=2))
            try:
                return await judge.judge(call())
            finally:
                await judge.aclose()

        with pytest.raises(JudgeUnavailableError) as raised:
            asyncio.run(go())
    assert f"judge endpoint {url}/completions (model 'judge-model') failed after 2 attempts" in (
        str(raised.value)
    )
    assert "timed out after 0.2 s" in str(raised.value)
