"""Time to build the paper's full P sweep (11 mixtures) for 12 languages × 4,640 items.

Counts, the seeded assignment of every example, and the files (mixture.jsonl + manifest.json
per mixture, written atomically) on a local temporary folder. Goal: under 2 s.

    .venv/bin/python benchmarks/mixtures.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.languages import MAIN, P_SWEEP  # noqa: E402
from training.mixtures import uniform, write_mixture  # noqa: E402
from training.parallel import ParallelRecord, ParallelSet  # noqa: E402

ITEMS = 4640


def main() -> None:
    sentence = "An instruction of ordinary length, about as long as the paper's examples."
    data = ParallelSet(
        [
            ParallelRecord(
                id=str(i),
                instruction={lang: f"{lang} {i} {sentence}" for lang in MAIN},
                response={lang: f"{lang} {i} {sentence * 4}" for lang in MAIN},
            )
            for i in range(ITEMS)
        ],
        MAIN,
    )
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        for percent in P_SWEEP:
            write_mixture(data, uniform(data, percent, MAIN, seed=0), Path(folder), "synthetic")
        elapsed = time.perf_counter() - started
        size = sum(p.stat().st_size for p in Path(folder).rglob("*")) / 2**20
    print(
        f"P sweep: {len(P_SWEEP)} mixtures × {ITEMS} items × {len(MAIN)} languages "
        f"in {elapsed:.2f} s ({size:.0f} MiB written); goal < 2 s"
    )


if __name__ == "__main__":
    main()
