"""What the comparison service costs per judged pair, against instant protocol-true fakes.

The full service (the real app with its SQLite store, job manager, generation and judgment
caches, every reply written as it arrives) runs one comparison of N fresh items: two
generations and two judge calls per item, all answered at once by in-process fakes speaking the
OpenAI wire format. Beside it, the judges client alone (`SideBySide` over the `openai` backend,
its cache on) judges N pairs on the same fakes. Reported: judged pairs/s and CPU ms per pair of
each (process CPU time), split into the fake servers' own work and the rest (ours).

Goal: the service costs <= 2 ms of CPU per judged pair and reaches >= 300 judged pairs/s.

    .venv/bin/python benchmarks/service_overhead.py [--items 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from judges.backends.openai import OpenAIJudge, OpenAIJudgeConfig  # noqa: E402
from judges.cache import JudgmentCache  # noqa: E402
from judges.pairs import Pair  # noqa: E402
from judges.sxs import SideBySide  # noqa: E402
from service.app import create_app  # noqa: E402
from tests.service.fakes import Backends, answer, settings  # noqa: E402


def instructions(count: int, tag: str) -> list[dict[str, str]]:
    return [{"id": str(i), "text": f"Question {tag} {i}: explain it."} for i in range(count)]


def service_run(folder: Path, count: int) -> tuple[float, float, float]:
    """(pairs/s, CPU ms per pair, the fakes' share of it) of one comparison via the service."""
    fakes = Backends()
    app = create_app(settings(folder), transport=fakes.transport())
    body = {
        "model_a": "good",
        "model_b": "bad",
        "language": "en",
        "instructions": instructions(count, "service"),
    }
    with TestClient(app) as client:
        cpu, wall = time.process_time(), time.perf_counter()
        job = client.post("/v1/comparisons", json=body).json()
        deadline = time.monotonic() + 600
        while (view := client.get(f"/v1/comparisons/{job['id']}").json())["status"] != "done":
            if view["status"] in ("failed", "cancelled") or time.monotonic() > deadline:
                raise SystemExit(f"the job did not finish: {view}")
            time.sleep(0.1)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if view["progress"]["done"] != count:
        raise SystemExit(f"the service finished {view['progress']} items")
    return count / wall, 1000 * cpu / count, 1000 * fakes.cpu_s / count


def judges_alone(folder: Path, count: int) -> tuple[float, float, float]:
    """(pairs/s, CPU ms per pair, the fakes' share) of SideBySide over the openai backend."""
    config = settings(folder).judges["llm"]
    if not isinstance(config, OpenAIJudgeConfig):
        raise SystemExit("the fakes' settings name an openai judge 'llm'")
    pairs = [
        Pair(
            id=i["id"],
            instruction=i["text"],
            response_a=answer("good", i["text"]),
            response_b=answer("bad", i["text"]),
        )
        for i in instructions(count, "alone")
    ]

    fakes = Backends()

    async def run() -> None:
        judge = OpenAIJudge(config, transport=fakes.transport())
        sxs = SideBySide(judge, cache=JudgmentCache(folder / "alone.db"), concurrency=32)
        await sxs.run(pairs)
        await judge.aclose()

    cpu, wall = time.process_time(), time.perf_counter()
    asyncio.run(run())
    cpu_ms = 1000 * (time.process_time() - cpu) / count
    return count / (time.perf_counter() - wall), cpu_ms, 1000 * fakes.cpu_s / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        alone = judges_alone(folder, args.items)
        service = service_run(folder, args.items)
    print(f"service overhead, {args.items} items, instant in-process fakes")
    print(f"{'path':<34} {'pairs/s':>9} {'CPU ms/pair':>12} {'fakes':>7} {'ours':>7}")
    for label, (rate, cpu, fakes) in (
        ("judges client alone (SideBySide)", alone),
        ("full service (generate + judge)", service),
    ):
        print(f"{label:<34} {rate:>9.0f} {cpu:>12.2f} {fakes:>7.2f} {cpu - fakes:>7.2f}")
    print("fakes: CPU the fake servers spent answering; ours: the rest (our code, httpx, SQLite)")


if __name__ == "__main__":
    main()
