"""Generator and judge endpoints speaking the OpenAI wire format, and a service around them."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from common.openai_http import RetryPolicy
from judges.backends.openai import OpenAIJudgeConfig
from service.settings import SAMPLE_EVAL_SET, SAMPLE_MCQ_SET, ServiceSettings
from tests.openai_stub import Policy, is_judge_prompt, openai_response, prefer_longer

GENERATOR = "http://gen.test/v1"
JUDGE = "http://judge.test/v1"
FAST = RetryPolicy(max_attempts=3, backoff_initial_s=0.0, backoff_max_s=0.0)


ENGLISH_TEXT = "The three primary colours are red, yellow and blue, as every painter knows well."
SPANISH_TEXT = (
    "Los tres colores primarios son el rojo, el amarillo y el azul, como sabe todo pintor."
)
CHINESE_TEXT = "三原色是红色、黄色和蓝色，每个画家都很清楚这一点。"


QUALITY = ["q1", "q2", "q3", "q4"]


def wanders(instruction: str) -> bool:
    """Whether 'wanderer' answers this instruction in English."""
    return len(instruction) % 3 == 0


def answer(model: str, instruction: str) -> str:
    """What each fake model says: 'good' explains, 'bad' mumbles a length that varies, 'mute'
    answers an empty text ('null', whose server sends a null content, says nothing at all);
    'spanish' answers in Spanish at a length that varies, 'wanderer' answers in English where
    `wanders`, else in Spanish; 'chinese' answers in Chinese."""
    if model == "mute":
        return ""
    if model in QUALITY:  # q1 < q2 < q3 < q4 in length, more often than not
        spread = hashlib.sha256(f"{model}|{instruction}".encode()).digest()[0] % 30
        return "x" * (10 * QUALITY.index(model) + spread + 1)
    if model == "spanish":
        return SPANISH_TEXT[: 40 + len(instruction)]
    if model == "wanderer":
        return ENGLISH_TEXT if wanders(instruction) else SPANISH_TEXT[:70]
    if model == "chinese":
        return CHINESE_TEXT
    if model == "good":
        return f"Answer: {instruction}"
    if model == "bad":
        return "m" * (len(instruction) * 2 % 61 + 3)
    return instruction


def expected_outcome(instruction: str, a: str = "good", b: str = "bad") -> str:
    """The outcome for A under the fake judge (the longer answer wins; equal: Answer1 twice)."""
    first, second = len(answer(a, instruction)), len(answer(b, instruction))
    return "win" if first > second else "loss" if first < second else "tie"


def _sample_questions() -> dict[str, tuple[int, str]]:
    """question text → (right option, language), over the project's sample MCQ set."""
    found: dict[str, tuple[int, str]] = {}
    for line in SAMPLE_MCQ_SET.read_text("utf-8").splitlines():
        item = json.loads(line)
        for language, question in item["question"].items():
            found[question] = (item["answer"][language], language)
    return found


SAMPLE_QUESTIONS = _sample_questions()


def mcq_letter(model: str, prompt: str) -> str:
    """What each fake model picks: 'good' is right in en and es and off by one elsewhere;
    any other model picks by a hash of the question."""
    question = prompt.split("\n", 1)[0]
    right, language = SAMPLE_QUESTIONS[question]
    if model == "good":
        return "ABCD"[right if language in ("en", "es") else (right + 1) % 4]
    return "ABCD"[hashlib.sha256(question.encode()).digest()[0] % 4]


class Backends:
    """One transport serving both fakes; counts calls, can fail, pause, or be down."""

    def __init__(self) -> None:
        self.generations: Counter[tuple[str, str]] = Counter()
        self.judgments: Counter[str] = Counter()
        self.mcq: Counter[tuple[str, str]] = Counter()
        self.judge_calls: Counter[str] = Counter()  # by the judge's model name
        self.judge_policies: dict[str, Policy] = {}  # a judge model's own policy
        self.judge_tokens: Counter[tuple[str, str]] = Counter()  # (model, prompt|completion)
        self.down: set[str] = set()
        self.fail_every = 0
        self.no_usage_every = 0  # every Nth judge reply says nothing of usage
        self.delay_s = 0.0
        self.cpu_s = 0.0  # CPU time spent answering, i.e. the fake servers' own work
        self._calls = 0

    @property
    def calls(self) -> int:
        """Requests answered or failed so far (connection refusals not counted)."""
        return self._calls

    def transport(self) -> httpx.AsyncBaseTransport:
        backends = self

        class Transport(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                return await backends.handle(request)

        return Transport()

    async def handle(self, request: httpx.Request) -> httpx.Response:
        started = time.process_time()
        try:
            return await self._answer(request)
        finally:
            self.cpu_s += time.process_time() - started

    async def _answer(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host in self.down:
            raise httpx.ConnectError(f"connection to {host} refused")
        self._calls += 1
        if self.fail_every and self._calls % self.fail_every == 0:
            return httpx.Response(503, json={"error": {"message": "busy"}})
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if request.method == "GET":  # /v1/models: what the fake generator serves
            served = ["base", "good", "bad", "mute", "null", "spanish", "wanderer", "chinese"]
            served = served if host == "gen.test" else []
            return httpx.Response(200, json={"object": "list", "data": [{"id": m} for m in served]})
        body = json.loads(request.content)
        if host == "gen.test" and body.get("logprobs"):
            prompt = body["messages"][0]["content"]
            self.mcq[(body["model"], prompt)] += 1
            letter = mcq_letter(body["model"], prompt)
            return httpx.Response(200, json=openai_response(body, lambda _: letter))
        if host == "gen.test":
            instruction = body["messages"][0]["content"]
            self.generations[(body["model"], instruction)] += 1
            text = answer(body["model"], instruction)
            reply = openai_response(body, lambda _: text)
            if body["model"] == "null":
                reply["choices"][0]["message"]["content"] = None
            return httpx.Response(200, json=reply)
        if not is_judge_prompt(body["prompt"]):  # a health probe: one token of anything
            return httpx.Response(200, json=openai_response(body, lambda _: "1"))
        self.judgments[body["prompt"]] += 1
        self.judge_calls[body["model"]] += 1
        if host == "mumble.test":  # a judge that never gives a verdict
            return httpx.Response(200, json=openai_response(body, lambda _: "Both are fine."))
        policy = self.judge_policies.get(body["model"], prefer_longer)
        reply = openai_response(body, policy)
        if self.no_usage_every and self.judge_calls[body["model"]] % self.no_usage_every == 0:
            del reply["usage"]
            return httpx.Response(200, json=reply)
        for kind in ("prompt", "completion"):
            self.judge_tokens[(body["model"], kind)] += reply["usage"][f"{kind}_tokens"]
        return httpx.Response(200, json=reply)


def write_registry(folder: Path) -> Path:
    path = folder / "models.toml"
    path.write_text(
        f'base_model = "tiny"\nendpoints = ["{GENERATOR}"]\n'
        '[adapters]\ngood = "adapters/good"\nbad = "adapters/bad"\n'
        'mute = "adapters/mute"\nnull = "adapters/null"\n'
        'spanish = "adapters/spanish"\nwanderer = "adapters/wanderer"\n'
        'chinese = "adapters/chinese"\n',
        encoding="utf-8",
    )
    return path


def scripted_judges(models: Iterable[str]) -> dict[str, OpenAIJudgeConfig]:
    """A judge named after each model on the fake judge endpoint, asked once per call (its
    verdicts follow `Backends.judge_policies[model]`)."""
    return {
        model: OpenAIJudgeConfig(
            base_url=JUDGE, model=model, max_attempts=1, backoff_initial_s=0, backoff_max_s=0
        )
        for model in models
    }


def settings(folder: Path, **overrides: Any) -> ServiceSettings:
    """A service on a fresh SQLite file with the fakes as backends."""
    values: dict[str, Any] = {
        "db": folder / "sxs.db",
        "registry": write_registry(folder),
        "eval_sets": {"sample": SAMPLE_EVAL_SET},
        "judges": {
            "llm": OpenAIJudgeConfig(
                base_url=JUDGE,
                model="judge",
                max_attempts=3,
                backoff_initial_s=0.0,
                backoff_max_s=0.0,
            ),
            "reference": {"kind": "reference"},
        },
        "default_judge": "llm",
        "generation_retry": FAST,
    }
    return ServiceSettings(**(values | overrides))
