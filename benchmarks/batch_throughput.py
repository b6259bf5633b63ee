"""Units per second of the Ray batch path (`sxs batch`) against the service path (`sxs serve` +
`sxs matrix`) on the same small matrix, and what Ray costs per unit, on this machine.

Both paths compute the same matrix (3 rows × 2 languages, 4 cells) on a synthetic eval set of
N items, each on a fresh SQLite store, against the same protocol-true loopback fakes (a
generator answering after 5 ms, an instant judge), so the figures are each path's own
overhead. A unit is a generation or one order of a judge call. The service path's time
includes its cells' statistics (the length-controlled score's bootstrap, language checks); the
Ray path only stores units, so `sxs matrix` on its store afterwards is timed too (it makes no
backend call: asserted). Each path runs at two sizes;
the difference gives its marginal cost per unit, the rest its fixed start-up (for the Ray
path: a Python process, a local Ray instance, the actor pools).

    .venv/bin/python benchmarks/batch_throughput.py [--items 100] [--num-cpus 2]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from typer.testing import CliRunner  # noqa: E402

from service.cli import app  # noqa: E402
from tests.loopback import free_port, serving  # noqa: E402
from tests.service.live import (  # noqa: E402
    SXS,
    Log,
    counting_judge,
    generator_app,
    start_service,
    write_config,
)

RECIPE = ("--rows", "good,bad,echo", "--languages", "es,fi", "--baselines", "es=good,fi=bad",
          "--eval-set", "bench")  # fmt: skip


def eval_set(folder: Path, items: int) -> Path:
    """N items in es and fi, of varied lengths (the fake judge prefers the longer answer)."""
    path = folder / "bench.jsonl"
    lines = []
    for index in range(items):
        text = {"es": f"Pregunta {index}: " + "dime algo " * (index % 7),
                "fi": f"Kysymys {index}: " + "kerro jotain " * (index % 5)}  # fmt: skip
        lines.append(json.dumps({"id": str(index), "text": text}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def prepared(folder: Path, items: int, generator: str, judge: str) -> tuple[Path, int]:
    folder.mkdir(parents=True)
    port = free_port()
    config = write_config(folder, port, generator, judge, ["good", "bad", "echo"])
    with config.open("a", encoding="utf-8") as file:
        file.write(f'[eval_sets]\nbench = "{eval_set(folder, items)}"\n')
    return config, port


def service_path(folder: Path, items: int, generator: str, judge: str) -> float:
    """Seconds `sxs matrix` takes through a running `sxs serve` on a fresh store."""
    config, port = prepared(folder, items, generator, judge)
    return matrix_seconds(config, folder, port)


def matrix_seconds(config: Path, folder: Path, port: int) -> float:
    """Seconds `sxs matrix` takes through a running `sxs serve` with `config`."""
    process = start_service(config, folder, port)
    try:
        args = ["matrix", "--server", f"http://127.0.0.1:{port}", "--out", str(folder / "m")]
        started = time.perf_counter()
        result = CliRunner().invoke(app, [*args, *RECIPE, "--concurrency", "4"])
        seconds = time.perf_counter() - started
        assert result.exit_code == 0, result.output
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    return seconds


def ray_path(
    folder: Path, items: int, generator: str, judge: str, num_cpus: int
) -> tuple[float, float, int, float]:
    """(wall seconds of the `sxs batch` process, seconds of its run, units submitted, seconds
    of `sxs matrix` on its store afterwards: the cells' statistics, no backend call)."""
    config, port = prepared(folder, items, generator, judge)
    command = [str(SXS), "batch", "--config", str(config), *RECIPE, "--json",
               "--num-cpus", str(num_cpus), "--batch-size", "32", "--concurrency", "4"]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    wall = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    cells = matrix_seconds(config, folder, port)
    return wall, float(summary["seconds"]), int(summary["submitted"]), cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100, help="items at the smaller size")
    parser.add_argument("--num-cpus", type=int, default=os.cpu_count() or 2)
    options = parser.parse_args()
    sizes = (options.items, 2 * options.items)
    rows = []
    log = Log()
    with (
        serving(generator_app(log)) as generator,
        serving(counting_judge(log, 0.0)) as judge,
        tempfile.TemporaryDirectory() as tmp,
    ):
        for items in sizes:
            before = sum(log.generated.values()) + sum(log.judged.values())
            service_s = service_path(Path(tmp, f"service-{items}"), items, generator, judge)
            units = sum(log.generated.values()) + sum(log.judged.values()) - before
            wall, run, submitted, cells = ray_path(
                Path(tmp, f"ray-{items}"), items, generator, judge, options.num_cpus
            )
            calls = sum(log.generated.values()) + sum(log.judged.values()) - before - units
            assert submitted == units == calls, (submitted, units, calls)  # matrix after: 0
            rows.append((items, units, service_s, wall, run, cells))
    heads = ("items", "units", "service s", "ray wall s", "ray run s", "then matrix s",
             "service u/s", "ray u/s", "ray/service")  # fmt: skip
    widths = (6, 6, 10, 11, 10, 14, 12, 8, 12)
    print(" ".join(f"{head:>{width}}" for head, width in zip(heads, widths, strict=True)))
    for items, units, service_s, wall, run, cells in rows:
        rates = f"{units / service_s:>12.1f} {units / wall:>8.1f} {service_s / wall:>12.2f}"
        print(f"{items:>6} {units:>6} {service_s:>10.2f} {wall:>11.2f} {run:>10.2f} "
              f"{cells:>14.2f} {rates}")  # fmt: skip
    (_, u1, s1, w1, _, _), (_, u2, s2, w2, _, _) = rows
    service_marginal, ray_marginal = (s2 - s1) / (u2 - u1), (w2 - w1) / (u2 - u1)
    print(f"marginal cost per unit: service {1000 * service_marginal:.2f} ms, "
          f"ray {1000 * ray_marginal:.2f} ms "
          f"(ray overhead per unit {1000 * (ray_marginal - service_marginal):+.2f} ms); "
          f"fixed start-up: service {s1 - u1 * service_marginal:.1f} s, "
          f"ray {w1 - u1 * ray_marginal:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
