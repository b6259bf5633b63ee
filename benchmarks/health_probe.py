"""What health checks cost a running service: CPU per call, and what 20 calls/s do to others.

A real `sxs serve` process on loopback, its generator and judge being loopback fakes speaking
the OpenAI wire format. For each check, measured in one run:
- server CPU per call: the service process's user + system time (/proc) over N sequential
  calls, divided by N;
- `GET /v1/models` latency (p50, p90) while another thread sends 20 calls/s of that check.

Checks: `GET /healthz` (liveness: the store only); `GET /v1/health` (the backends, cached for
`health_cache_s` = 5 s); and `GET /v1/health` with the cache off (`health_cache_s` = 0): a
fresh round of backend probes per call, what `/healthz` did before it was split.

    .venv/bin/python benchmarks/health_probe.py [--calls 200]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.loopback import free_port, serving  # noqa: E402
from tests.service.live import (  # noqa: E402
    Log,
    counting_judge,
    generator_app,
    start_service,
    write_config,
)

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def measure(base: str, pid: int, path: str, calls: int) -> tuple[float, float, float]:
    """(server CPU ms per call, p50 and p90 ms of GET /v1/models under 20 calls/s of `path`)."""
    with httpx.Client(base_url=base, timeout=30) as client:
        client.get(path)  # warm: the first call opens pools
        before = cpu_s(pid)
        for _ in range(calls):
            client.get(path).raise_for_status()
        per_call = 1000 * (cpu_s(pid) - before) / calls
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(base_url=base, timeout=30) as loader:
                deadline = time.monotonic() + 30  # bounded, whatever happens
                while not stop.is_set() and time.monotonic() < deadline:
                    started = time.monotonic()
                    loader.get(path)
                    time.sleep(max(0.0, 0.05 - (time.monotonic() - started)))

        thread = threading.Thread(target=load, daemon=True)
        thread.start()
        latencies = []
        for _ in range(60):
            started = time.perf_counter()
            client.get("/v1/models").raise_for_status()
            latencies.append(1000 * (time.perf_counter() - started))
            time.sleep(0.05)
        stop.set()
        thread.join(timeout=40)
    deciles = statistics.quantiles(latencies, n=10)
    return per_call, statistics.median(latencies), deciles[8]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    calls = parser.parse_args().calls
    rows = []
    log = Log()
    with serving(generator_app(log)) as generator, serving(counting_judge(log, 0.0)) as judge:
        for cache_s in (5.0, 0.0):
            folder = Path(tempfile.mkdtemp(prefix="sxs-health-"))
            port = free_port()
            config = write_config(folder, port, generator, judge, ["good", "bad"])
            config.write_text(config.read_text() + f"health_cache_s = {cache_s}\n")
            # top-level keys must precede the [judges.llm] table: put it first
            text = config.read_text().replace(f"health_cache_s = {cache_s}\n", "")
            config.write_text(f"health_cache_s = {cache_s}\n" + text)
            service = start_service(config, folder, port)
            try:
                base = f"http://127.0.0.1:{port}"
                paths = ["/healthz", "/v1/health"] if cache_s else ["/v1/health"]
                for path in paths:
                    label = f"{path} (cache {cache_s:g} s)" if path != "/healthz" else path
                    rows.append((label, *measure(base, service.pid, path, calls)))
            finally:
                os.killpg(service.pid, signal.SIGTERM)
                service.wait(timeout=30)
    print(f"{'check':<28} {'server CPU/call':>16} {'/v1/models p50':>15} {'p90':>8}")
    for label, per_call, p50, p90 in rows:
        print(f"{label:<28} {per_call:>13.2f} ms {p50:>12.1f} ms {p90:>5.1f} ms")


if __name__ == "__main__":
    main()
