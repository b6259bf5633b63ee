"""The generation client against handlers speaking the OpenAI wire format."""

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from common.openai_http import ClientSettings, RetryPolicy
from generators.cache import GenerationCache
from generators.client import Generation, GenerationRequest, Generator, request_seed
from generators.errors import (
    GenerationMalformedError,
    GenerationRejectedError,
    GenerationUnavailableError,
)
from generators.registry import Registry
from tests.loopback import serving

Handler = Callable[[httpx.Request], httpx.Response]
FAST = RetryPolicy(max_attempts=3, backoff_initial_s=0.0, backoff_max_s=0.0)


def registry(**fields: Any) -> Registry:
    data: dict[str, Any] = {
        "base_model": "tiny",
        "endpoints": ["http://a.test/v1"],
        "adapters": {"es": {"path": "es"}, "fi": {"path": "fi", "revision": "1"}},
    }
    return Registry.model_validate(data | fields)


def echo(request: httpx.Request) -> httpx.Response:
    """vLLM's answer shape; the text tells which model, seed and host served it."""
    body = json.loads(request.content)
    prompt = body["messages"][0]["content"] if "messages" in body else body["prompt"]
    text = f"{body['model']}|{body['seed']}|{request.url.host}|{prompt}"
    if "messages" in body:
        choice = {"index": 0, "message": {"role": "assistant", "content": text}}
    else:
        choice = {"index": 0, "text": text}
    return httpx.Response(200, json={"choices": [choice | {"finish_reason": "stop"}]})


class Recorder:
    def __init__(self, handler: Handler = echo) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


def requests_for(model: str, count: int = 3, language: str = "es") -> list[GenerationRequest]:
    return [GenerationRequest(model, language, str(i), f"instruction {i}") for i in range(count)]


def run(generator: Generator, requests: list[GenerationRequest]) -> list[Generation]:
    async def go() -> list[Generation]:
        try:
            return await generator.generate(requests)
        finally:
            await generator.aclose()

    return asyncio.run(go())


def make(handler: Handler, cache: GenerationCache | None = None, **fields: Any) -> Generator:
    client = ClientSettings(retry=FAST, transport=httpx.MockTransport(handler))
    return Generator(registry(**fields), cache=cache, client=client)


def test_chat_requests_carry_the_sampling_the_model_and_a_seed() -> None:
    recorder = Recorder()
    generations = run(make(recorder), requests_for("es"))
    body = json.loads(recorder.requests[0].content)
    assert recorder.requests[0].url.path == "/v1/chat/completions"
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.7, 0.9, 512)
    assert body["model"] == "es"
    assert body["messages"] == [{"role": "user", "content": "instruction 0"}]
    assert [g.text for g in generations] == [
        f"es|{request_seed('es', 'es', str(i))}|a.test|instruction {i}" for i in range(3)
    ]
    assert all(g.finish_reason == "stop" and not g.cached for g in generations)


def test_raw_format_uses_completions() -> None:
    recorder = Recorder()
    run(make(recorder, prompt_format="raw"), requests_for("base", 1))
    assert recorder.requests[0].url.path == "/v1/completions"
    assert json.loads(recorder.requests[0].content)["prompt"] == "instruction 0"


def test_seeds_depend_on_model_language_and_item() -> None:
    seeds = {request_seed(m, lang, i) for m in ("es", "fi") for lang in ("en", "es") for i in "12"}
    assert len(seeds) == 8
    assert request_seed("es", "en", "1") == request_seed("es", "en", "1")
    assert all(0 <= seed < 2**31 for seed in seeds)


def test_a_response_is_generated_once(tmp_path: Path) -> None:
    first = Recorder()
    run(make(first, GenerationCache(tmp_path / "s.db")), requests_for("es") + requests_for("fi"))
    assert len(first.requests) == 6

    again = Recorder()
    generator = make(again, GenerationCache(tmp_path / "s.db"))
    generations = run(generator, requests_for("es") + requests_for("fi"))
    assert again.requests == []
    assert all(g.cached for g in generations)
    assert (generator.counts.cache_hits, generator.counts.generated) == (6, 0)

    retrained = Recorder()
    adapters = {"es": {"path": "es"}, "fi": {"path": "fi", "revision": "2"}}
    run(make(retrained, GenerationCache(tmp_path / "s.db"), adapters=adapters), requests_for("fi"))
    assert len(retrained.requests) == 3  # a new revision is a new model
    resampled = Recorder()
    run(
        make(resampled, GenerationCache(tmp_path / "s.db"), sampling={"temperature": 0.0}),
        requests_for("es"),
    )
    assert len(resampled.requests) == 3


def test_replicas_share_the_load_and_cover_for_each_other() -> None:
    hosts: list[str] = []

    class Slow(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            hosts.append(request.url.host)
            if request.url.host == "down.test":
                raise httpx.ConnectError("connection refused")
            await asyncio.sleep(0.005)
            return echo(request)

    replicas = ["http://a.test/v1", "http://b.test/v1"]
    generator = Generator(
        registry(endpoints=replicas), client=ClientSettings(8, retry=FAST, transport=Slow())
    )
    texts = [g.text.split("|")[2] for g in run(generator, requests_for("es", 40))]
    assert abs(texts.count("a.test") - texts.count("b.test")) <= 8

    failing = ["http://down.test/v1", "http://b.test/v1"]
    hosts.clear()
    generator = Generator(
        registry(endpoints=failing), client=ClientSettings(1, retry=FAST, transport=Slow())
    )
    texts = [g.text.split("|")[2] for g in run(generator, requests_for("es", 5))]
    assert texts == ["b.test"] * 5
    assert "down.test" in hosts


def test_an_adapter_the_server_does_not_serve() -> None:
    def not_found(request: httpx.Request) -> httpx.Response:
        model = json.loads(request.content)["model"]
        return httpx.Response(404, json={"message": f"The model `{model}` does not exist."})

    with pytest.raises(GenerationRejectedError) as raised:
        run(make(not_found), requests_for("fi", 1))
    message = str(raised.value)
    assert "model 'fi'" in message
    assert "http://a.test/v1/chat/completions answered HTTP 404" in message
    assert "sxs generators sync" in message


@pytest.mark.parametrize(
    ("failure", "reason"),
    [(httpx.ConnectError("refused"), "ConnectError"), (httpx.ReadTimeout("slow"), "timed out")],
)
def test_an_unreachable_or_slow_server(failure: Exception, reason: str) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(GenerationUnavailableError, match=reason) as raised:
        run(make(broken), requests_for("es", 1))
    assert "model 'es' at http://a.test/v1/chat/completions failed after 3 attempts" in str(
        raised.value
    )


def null_content(request: httpx.Request) -> httpx.Response:
    choice = {"index": 0, "message": {"role": "assistant", "content": None}}
    return httpx.Response(200, json={"choices": [choice | {"finish_reason": "stop"}]})


def test_a_null_content_is_retried_then_fails_and_nothing_is_stored(tmp_path: Path) -> None:
    recorder = Recorder(null_content)
    cache = GenerationCache(tmp_path / "s.db")
    with pytest.raises(GenerationMalformedError) as raised:
        run(make(recorder, cache), requests_for("es", 1))
    assert len(recorder.requests) == 3  # every attempt of the retry policy
    assert "model 'es'" in str(raised.value)
    assert "choices[0].message.content is null, not a text" in str(raised.value)
    assert cache.count() == 0

    # a null once, then a real answer: the real answer is what is kept
    answers = iter([null_content, echo])
    generations = run(make(lambda request: next(answers)(request), cache), requests_for("es", 1))
    assert generations[0].text.startswith("es|")
    assert cache.count() == 1


def test_an_absent_text_fails_but_an_empty_one_is_an_answer(tmp_path: Path) -> None:
    def absent(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"choices": [{"index": 0, "finish_reason": "stop"}]})

    with pytest.raises(GenerationMalformedError, match="missing 'text'"):
        run(make(absent, prompt_format="raw"), requests_for("base", 1))

    def empty(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"choices": [{"index": 0, "text": "", "finish_reason": "stop"}]}
        )

    cache = GenerationCache(tmp_path / "s.db")
    (generation,) = run(make(empty, cache, prompt_format="raw"), requests_for("base", 1))
    assert generation.text == "" and cache.count() == 1


def test_a_server_dying_mid_run_loses_nothing(tmp_path: Path) -> None:
    """Real HTTP: a uvicorn stub that falls over after 7 responses, then a healthy one."""
    from tests.openai_stub import create_app

    budget = {"left": 7}

    def dying(prompt: str) -> str:
        if budget["left"] <= 0:
            raise RuntimeError("the generator host fell over")
        budget["left"] -= 1
        return f"answer to {prompt}"

    requests = requests_for("es", 20)
    with serving(create_app(dying)) as url:
        generator = Generator(
            registry(endpoints=[url]),
            cache=GenerationCache(tmp_path / "s.db"),
            client=ClientSettings(concurrency=1, retry=FAST),
        )
        with pytest.raises(GenerationUnavailableError, match="HTTP 503"):
            run(generator, requests)
    assert generator.counts.stored == 7
    with serving(create_app(lambda prompt: f"answer to {prompt}")) as url:
        resumed = Generator(
            registry(endpoints=[url]),
            cache=GenerationCache(tmp_path / "s.db"),
            client=ClientSettings(retry=FAST),
        )
        generations = run(resumed, requests)
    assert (resumed.counts.cache_hits, resumed.counts.generated) == (7, 13)
    assert [g.text for g in generations] == [f"answer to instruction {i}" for i in range(20)]


def test_a_server_that_accepts_but_never_answers_times_out() -> None:
    """A real socket on loopback that accepts connections and stays silent."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        client = ClientSettings(retry=FAST, timeout_s=0.2)
        generator = Generator(registry(endpoints=[url]), client=client)
        with pytest.raises(GenerationUnavailableError) as raised:
            run(generator, requests_for("es", 1))
    assert f"model 'es' at {url}/chat/completions failed after 3 attempts: timed out" in str(
        raised.value
    )
