"""A real `sxs serve` process and loopback fakes of its generator and judge endpoints."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.settings import SAMPLE_EVAL_SET
from tests.loopback import free_port, serving
from tests.openai_stub import create_app as judge_app
from tests.openai_stub import is_judge_prompt, openai_response, prefer_longer
from tests.service.fakes import answer

SXS = Path(sys.executable).parent / "sxs"


class Log:
    """What the fake backends were asked, thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generated: Counter[tuple[str, str]] = Counter()
        self.judged: Counter[str] = Counter()
        self.judge_delay_s: float | None = None  # set to slow the judge down mid-test


def generator_app(
    log: Log,
    served: tuple[str, ...] = ("tiny", "good", "bad", "echo"),
    sampled: bool = False,
    delay_s: float = 0.005,
) -> Starlette:
    """A generator of `served` models; `sampled`: each call's text ends differently (as when
    sampling at a temperature), so two calls for one prompt give two texts; each completion
    takes `delay_s` (its model list answers at once)."""

    async def complete(request: Request) -> JSONResponse:
        body = await request.json()
        instruction = body["messages"][0]["content"]
        with log.lock:
            log.generated[(body["model"], instruction)] += 1
            calls = sum(log.generated.values())
        await asyncio.sleep(delay_s)
        text = answer(body["model"], instruction) + (f" (sample {calls})" if sampled else "")
        return JSONResponse(openai_response(body, lambda _: text))

    async def models(request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": name} for name in served]})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", complete, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
        ]
    )


def counting_judge(log: Log, delay_s: float = 0.01) -> Any:
    def policy(prompt: str) -> str:
        if is_judge_prompt(prompt):  # health probes are not judgments
            with log.lock:
                log.judged[prompt] += 1
        time.sleep(delay_s if log.judge_delay_s is None else log.judge_delay_s)
        return prefer_longer(prompt)

    return judge_app(policy)


def start_service(config: Path, folder: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [str(SXS), "serve", "--config", str(config), "--port", str(port), "--log-level", "warning"],
        cwd=folder,
        stdout=(folder / "serve.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError((folder / "serve.log").read_text())


def write_config(
    folder: Path,
    port: int,
    generator_url: str,
    judge_url: str,
    adapters: list[str],
    item_concurrency: int = 4,
    job_lease_s: float = 3.0,
) -> Path:
    """models.toml serving `adapters` from the fake generator, and the service's TOML (a job
    left by a killed process is taken over `job_lease_s` after its last renewal)."""
    (folder / "models.toml").write_text(
        f'base_model = "tiny"\nendpoints = ["{generator_url}"]\n[adapters]\n'
        + "".join(f'{name} = "{name}"\n' for name in adapters),
        encoding="utf-8",
    )
    config = folder / "service.toml"
    config.write_text(
        f'port = {port}\ndb = "{folder / "sxs.db"}"\n'
        f'registry = "{folder / "models.toml"}"\n'
        f'default_judge = "llm"\nitem_concurrency = {item_concurrency}\n'
        f"job_lease_s = {job_lease_s}\n"
        f'[judges.llm]\nkind = "openai"\nbase_url = "{judge_url}"\nmodel = "judge"\n',
        encoding="utf-8",
    )
    return config


@dataclass
class Backends:
    """The fake generator and counting judge on loopback, a service config naming them (in
    `folder`, its store there too) and the free port the service is to take."""

    folder: Path
    config: Path
    port: int
    log: Log


@contextmanager
def loopback_backends(
    folder: Path,
    adapters: tuple[str, ...] = ("good", "bad", "echo"),
    judge_delay_s: float = 0.0,
) -> Iterator[Backends]:
    """`Backends` serving `adapters` (and the base, "tiny") while the block runs."""
    log = Log()
    port = free_port()
    served = ("tiny", *adapters)
    with (
        serving(generator_app(log, served)) as generator,
        serving(counting_judge(log, judge_delay_s)) as judge,
    ):
        yield Backends(
            folder, write_config(folder, port, generator, judge, list(adapters)), port, log
        )


@contextmanager
def running_service(backends: Backends) -> Iterator[str]:
    """A real `sxs serve` on the backends while the block runs; its URL."""
    process = start_service(backends.config, backends.folder, backends.port)
    try:
        yield f"http://127.0.0.1:{backends.port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def instructions(language: str) -> list[str]:
    """The sample eval set's instructions in `language`, in order."""
    rows = [json.loads(line) for line in SAMPLE_EVAL_SET.read_text("utf-8").splitlines()]
    return [row["text"][language] for row in rows]
