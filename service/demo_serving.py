"""The demo's running parts: vLLM serving the base model and every adapter, and the
comparison service on loopback with the demo's eval sets and judges."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from generators.registry import load_registry
from generators.server import VLLMServer, find_vllm_python
from generators.vllm_command import Device, vllm_command, vllm_environment
from judges.backends.factory import JudgeConfig
from judges.backends.openai import ApiKind, JudgeMode, OpenAIJudgeConfig
from judges.backends.reference import ReferenceJudgeConfig
from service.background import serving_in_background
from service.demo import HELD_OUT_SET, STUDENT, DemoPlan, Say
from service.settings import ServiceSettings


@contextmanager
def generator_engine(plan: DemoPlan, registry_file: Path, say: Say) -> Iterator[str]:
    """vLLM serving the base model and every adapter, stopped on exit; yields its URL."""
    registry = load_registry(registry_file)
    python = find_vllm_python(plan.vllm_python)
    log = plan.out / "logs" / "vllm.log"
    server = VLLMServer(
        vllm_command(registry, python, Device.CPU), vllm_environment(registry, Device.CPU), log
    )
    url = f"http://127.0.0.1:{registry.server.port}/v1"
    server.start()
    try:
        seconds = server.wait_healthy(url, plan.startup_timeout_s)
        say(f"vLLM serves {len(registry.names())} models at {url} (healthy after {seconds:.0f} s)")
        yield url
    finally:
        server.stop()


def student_config(registry_file: Path, revision: str) -> OpenAIJudgeConfig:
    """The distilled judge as the service reaches it: an adapter of the demo's engine."""
    port = load_registry(registry_file).server.port
    return OpenAIJudgeConfig(
        base_url=f"http://127.0.0.1:{port}/v1",
        model=STUDENT,
        revision=revision,
        mode=JudgeMode.LOGPROBS,
        api=ApiKind.CHAT,
        concurrency=16,
    )


def served_student(plan: DemoPlan, registry_file: Path) -> OpenAIJudgeConfig | None:
    """The distilled judge an earlier demo registered in OUT/models.toml, if any."""
    report = plan.out / "distill" / "distill.json"
    if STUDENT not in load_registry(registry_file).adapters or not report.is_file():
        return None
    return student_config(registry_file, json.loads(report.read_text("utf-8"))["revision"])


@contextmanager
def comparison_service(
    plan: DemoPlan,
    registry: Path,
    port: int | None = None,
    student: OpenAIJudgeConfig | None = None,
) -> Iterator[str]:
    """The comparison API on loopback (a free port unless given), with OUT/eval.jsonl as the
    eval set `demo`, OUT/sxs.db as its store, the `reference` judge and, when given, the
    distilled one (`distilled`); yields its URL."""
    from service.app import create_app

    judges: dict[str, JudgeConfig] = {"reference": ReferenceJudgeConfig()}
    if student is not None:
        judges["distilled"] = student
    eval_sets = {"demo": plan.out / "eval.jsonl"}
    if (plan.out / "eval-held-out.jsonl").is_file():
        eval_sets[HELD_OUT_SET] = plan.out / "eval-held-out.jsonl"
    settings = ServiceSettings(
        db=plan.out / "sxs.db",
        registry=registry,
        eval_sets=eval_sets,
        judges=judges,
        jobs_in_parallel=4,
        item_concurrency=16,
    )
    with serving_in_background(create_app(settings), port=port) as url:
        yield url
