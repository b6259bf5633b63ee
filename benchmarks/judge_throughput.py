"""Judged pairs per second through the `openai` judge backend.

Two targets, each speaking the OpenAI wire format with the same scripted judge:
  (a) an in-process stub (httpx.MockTransport): what the orchestration alone can do;
  (b) a uvicorn stub on 127.0.0.1 in its own process: real HTTP over loopback.
For each, the full SxS path (both orders, parsing, outcome, SQLite store of every reply) at
concurrency 1, 8 and 64, beside bare httpx calls at the same concurrency (no protocol, no
store) and a plain sequential loop sending the same calls one at a time (the way a judging
script with parallel=1 runs). Ratios are measured within one run.

Goal: >= 1,000 judged pairs/s at concurrency 64 against (a) on a 2-core machine.

    .venv/bin/python benchmarks/judge_throughput.py [--pairs 3000] [--http-pairs 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from judges.backends.openai import OpenAIJudge, OpenAIJudgeConfig  # noqa: E402
from judges.cache import JudgmentCache  # noqa: E402
from judges.pairs import Pair  # noqa: E402
from judges.prompts import PAPER_TEMPLATE  # noqa: E402
from judges.sxs import SideBySide, presentations  # noqa: E402
from judges.verdicts import parse_verdict  # noqa: E402
from tests.loopback import free_port  # noqa: E402
from tests.openai_stub import mock_handler  # noqa: E402

CONCURRENCIES = (1, 8, 64)


def make_pairs(count: int, run: str) -> list[Pair]:
    """Distinct pairs of ~300-character answers (nothing cached across runs)."""
    sentence = "The answer explains the idea step by step with an example. "
    return [
        Pair(
            id=f"{run}-{i}",
            instruction=f"Explain idea number {i} of run {run} to a student.",
            response_a=sentence * (4 + i % 3) + str(i),
            response_b=sentence * 5 + f"({run} {i})",
        )
        for i in range(count)
    ]


def config(base_url: str, concurrency: int) -> OpenAIJudgeConfig:
    return OpenAIJudgeConfig(base_url=base_url, model="stub", concurrency=concurrency)


async def sxs_rate(
    base_url: str, transport: httpx.AsyncBaseTransport | None, pairs: list[Pair], concurrency: int
) -> float:
    """Pairs/s of the full SxS path, every reply stored in a fresh SQLite file."""
    with tempfile.TemporaryDirectory() as folder:
        judge = OpenAIJudge(config(base_url, concurrency), transport=transport)
        sxs = SideBySide(
            judge, cache=JudgmentCache(Path(folder) / "bench.db"), concurrency=concurrency
        )
        started = time.perf_counter()
        results = await sxs.run(pairs)
        elapsed = time.perf_counter() - started
        await judge.aclose()
    if len(results) != len(pairs) or sxs.counts.judge_calls != 2 * len(pairs):
        raise SystemExit(f"sxs judged {len(results)} pairs with {sxs.counts.judge_calls} calls")
    return len(pairs) / elapsed


async def bare_rate(
    base_url: str, transport: httpx.AsyncBaseTransport | None, pairs: list[Pair], concurrency: int
) -> float:
    """Pairs/s of bare httpx calls for both orders, `concurrency` in flight, digit parsed;
    concurrency 1 is the plain sequential loop of a judging script with parallel=1."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    slots = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(transport=transport, timeout=60, limits=limits) as client:

        async def ask(prompt: str) -> None:
            body = {"model": "stub", "prompt": prompt, "max_tokens": 2, "temperature": 0}
            async with slots:
                response = await client.post(f"{base_url}/completions", json=body)
            response.raise_for_status()
            if parse_verdict(response.json()["choices"][0]["text"]) is None:
                raise SystemExit("the stub answered something that is not a verdict")

        prompts = [c.prompt for pair in pairs for c in presentations(pair, PAPER_TEMPLATE)]
        started = time.perf_counter()
        if concurrency == 1:
            for prompt in prompts:
                await ask(prompt)
        else:
            await asyncio.gather(*(ask(prompt) for prompt in prompts))
        return len(pairs) / (time.perf_counter() - started)


def measure(
    label: str,
    base_url: str,
    make_transport: Callable[[], httpx.AsyncBaseTransport | None],
    count: int,
) -> list[str]:
    """One row per concurrency: sxs, bare httpx at that concurrency, the sequential loop."""
    rows = []
    sequential = asyncio.run(
        bare_rate(base_url, make_transport(), make_pairs(count // 2, f"{label}-seq"), 1)
    )
    for concurrency in CONCURRENCIES:
        pairs = make_pairs(count, f"{label}-{concurrency}")
        rate = asyncio.run(sxs_rate(base_url, make_transport(), pairs, concurrency))
        bare = asyncio.run(
            bare_rate(base_url, make_transport(), make_pairs(count, f"{label}-bare"), concurrency)
        )
        rows.append(
            f"{label:<28} {concurrency:>5} {rate:>12.0f} {bare:>10.0f} {sequential:>12.0f}"
            f" {rate / sequential:>10.2f}x {rate / bare:>10.2f}x"
        )
    return rows


def start_stub_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.openai_stub:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.post(
                f"{base_url}/completions",
                json={"prompt": "x\nAnswer1:\n1\nAnswer2:\n2\nWhich one is better"},
                timeout=1,
            )
            return server, base_url
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the uvicorn stub did not start within 30 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3000, help="pairs per in-process run")
    parser.add_argument("--http-pairs", type=int, default=1000, help="pairs per loopback run")
    args = parser.parse_args()

    print(f"judge throughput, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    header = (
        f"{'target':<28} {'conc':>5} {'sxs pairs/s':>12} {'bare/s':>10} {'sequential/s':>12}"
        f" {'sxs/sequential':>11} {'sxs/bare':>10}"
    )
    print(header)
    print("-" * len(header))
    for row in measure(
        "(a) in-process MockTransport",
        "http://stub.invalid/v1",
        lambda: httpx.MockTransport(mock_handler()),
        args.pairs,
    ):
        print(row, flush=True)
    server, base_url = start_stub_server()
    try:
        for row in measure("(b) uvicorn on loopback", base_url, lambda: None, args.http_pairs):
            print(row, flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
