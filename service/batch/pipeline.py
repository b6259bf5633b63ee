"""Units through Ray Data: the only module that imports Ray.

- `connect`: a Ray instance of this machine's CPUs (no address; a watchdog process stops it
  if the driver is killed), or a running cluster (`auto`, `HOST:PORT`, `ray://HOST:PORT`),
  checked for reachability first;
- `http_answers`: one `ray.data.llm` HTTP processor per endpoint, with that endpoint's own
  timeout (a deadline per try: aiohttp's `total`) and retry policy; every endpoint's dataset
  runs at once, each in its own thread, so one that fails fails only its own units;
- `engine_answers`: the engine mode: vLLM engines in Ray actors run the same bodies
  (`engine_stage`), the LoRA adapter chosen per row;
- `local_answers`: a judge that runs in-process (chrF to the reference) as a Ray Data map.

Answers come back to the driver batch by batch, in small blocks (`batch_size` rows), so a
killed driver loses at most what was in flight. A dataset that stops answers each of its
units it had not answered with `Unanswered` (the reason), never with a result.
What Ray hands back is read in `answers.py`.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from common.openai_http import RetryPolicy
from common.urls import shown
from service.batch import watchdog
from service.batch.answers import Answers, Run, collect
from service.batch.engine import EngineSpec
from service.batch.errors import BatchInputError

_watchdog: subprocess.Popen[bytes] | None = None  # stops a local Ray instance if we are killed


class RaySettings(BaseModel):
    """How the batch path uses Ray."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    address: str | None = Field(
        default=None,
        description="a running cluster (auto, HOST:PORT, ray://HOST:PORT); none: a Ray "
        "instance of this machine's CPUs",
    )
    num_cpus: int | None = Field(default=None, ge=1, description="CPUs of a local instance")
    batch_size: int = Field(default=16, ge=1, le=4096, description="rows per Ray Data batch")
    concurrency: int = Field(
        default=4, ge=1, le=1024, description="HTTP workers per endpoint (Ray actors)"
    )
    worker_cpus: float = Field(
        default=0.25, gt=0, le=64, description="CPUs reserved per HTTP worker (it waits on I/O)"
    )
    engines: int = Field(default=1, ge=1, le=4096, description="vLLM engines (engine mode)")


@dataclass(frozen=True, slots=True)
class EndpointRows:
    """The requests for one URL: (unit index, body) with the same headers, timeout and
    retry policy (the endpoint's configured ones)."""

    url: str
    headers: dict[str, str]
    timeout_s: float
    retry: RetryPolicy
    rows: list[tuple[int, dict[str, Any]]]


def connect(settings: RaySettings) -> None:
    """Start or join Ray; a cluster that cannot be reached is a `BatchInputError`."""
    try:
        import ray
    except ImportError:
        raise BatchInputError(
            "the batch path needs Ray: pip install 'sxs-eval[ray]' (or make setup)"
        ) from None
    if ray.is_initialized():
        return
    address = settings.address
    if address not in (None, "auto"):
        _reachable(address)
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    global _watchdog
    if address is None and _watchdog is None:  # a local instance: it must die with us
        _watchdog = watchdog.start()
    try:
        ray.init(
            address=address,
            num_cpus=settings.num_cpus if address is None else None,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.ERROR,
            configure_logging=True,
        )
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = "a local Ray instance" if address is None else f"the Ray cluster at {address}"
        raise BatchInputError(f"could not start or join {where}: {error}") from None
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray").setLevel(logging.ERROR)
    logging.getLogger("ray.data").setLevel(logging.ERROR)


def disconnect() -> None:
    """Leave Ray (a local instance stops)."""
    import ray

    global _watchdog
    if ray.is_initialized():
        ray.shutdown()
    if _watchdog is not None:
        _watchdog.terminate()
        _watchdog = None


def http_answers(endpoints: list[EndpointRows], settings: RaySettings) -> Iterator[Answers]:
    """Every row POSTed by Ray's HTTP processor; batches of answers as they arrive."""
    from ray.data.llm import HttpRequestProcessorConfig, build_processor

    runs = []
    for endpoint in endpoints:
        if not endpoint.rows:
            continue
        processor = build_processor(
            HttpRequestProcessorConfig(
                url=endpoint.url,
                headers=endpoint.headers or None,
                batch_size=settings.batch_size,
                concurrency=settings.concurrency,
                max_retries=endpoint.retry.max_attempts - 1,
                base_retry_wait_time_in_s=endpoint.retry.backoff_initial_s,
                session_factory=functools.partial(_session, endpoint.timeout_s),
                http_request_stage={"num_cpus": settings.worker_cpus},
            ),
            preprocess=_payload,
            postprocess=_answer,
        )
        rows = [{"unit": index, "body": json.dumps(body)} for index, body in endpoint.rows]
        where = (f" ({shown(endpoint.url)}: {endpoint.timeout_s:g} s a try, "
                 f"{endpoint.retry.max_attempts} tries)")  # fmt: skip
        runs.append(Run(processor(_dataset(rows, settings)), [i for i, _ in endpoint.rows], where))
    yield from collect(runs)


def engine_answers(
    rows: list[tuple[int, dict[str, Any]]], spec: EngineSpec, settings: RaySettings
) -> Iterator[Answers]:
    """Every body run by `settings.engines` vLLM engines in Ray actors (`EngineStage`, the
    adapter chosen per row); batches of answers as they arrive."""
    import ray

    from service.batch import engine_stage

    # the stage's workers may run another Python (spec.python): they get its code, not a module
    ray.cloudpickle.register_pickle_by_value(engine_stage)  # type: ignore[no-untyped-call]
    runtime_env: dict[str, Any] = {"env_vars": spec.env}
    if spec.python is not None:
        runtime_env["py_executable"] = spec.python
    items = [{"unit": index, "body": json.dumps(body)} for index, body in rows]
    dataset = _dataset(items, settings).map_batches(
        engine_stage.EngineStage,
        fn_constructor_kwargs={"engine": spec.engine, "base": spec.base, "adapters": spec.adapters},
        batch_size=settings.batch_size,
        batch_format="numpy",
        concurrency=settings.engines,
        runtime_env=runtime_env,
        num_cpus=spec.num_cpus,
        num_gpus=spec.num_gpus,
    )
    yield from collect([Run(dataset, [index for index, _ in rows])])


def local_answers(
    config: dict[str, Any], rows: list[tuple[int, dict[str, Any]]], settings: RaySettings
) -> Iterator[Answers]:
    """Every call judged by the in-process judge `config` (a judge's settings, as JSON) in Ray
    tasks; batches of replies (`JudgeReply` fields) as they arrive."""
    items = [
        {"unit": index, "call": json.dumps(call), "judge": json.dumps(config)}
        for index, call in rows
    ]
    dataset = _dataset(items, settings).map_batches(
        judge_batch, batch_size=settings.batch_size, batch_format="pandas"
    )
    yield from collect([Run(dataset, [index for index, _ in rows])])


def judge_batch(batch: Any) -> Any:
    """A Ray Data map: each row's call judged by its in-process judge (runs in Ray workers)."""
    import asyncio

    from pydantic import TypeAdapter

    from judges.backends.base import JudgeCall
    from judges.backends.factory import JudgeConfig, build_judge
    from judges.verdicts import Order

    async def judge_all() -> list[str]:
        judges: dict[str, Any] = {}  # one judge per configuration
        replies = []
        for config, call in zip(batch["judge"], batch["call"], strict=True):
            if config not in judges:
                judges[config] = build_judge(TypeAdapter(JudgeConfig).validate_json(config))
            fields = json.loads(call)
            order = Order(fields["order"])
            try:
                reply = await judges[config].judge(JudgeCall(**(fields | {"order": order})))
            except Exception as error:  # this call fails, not the batch: it is reported
                replies.append(json.dumps({"error": {"message": str(error)}}))
                continue
            replies.append(json.dumps(reply.fields()))
        for judge in judges.values():
            await judge.aclose()
        return replies

    return batch[["unit"]].assign(answer=asyncio.run(judge_all()))


def _dataset(items: list[dict[str, Any]], settings: RaySettings) -> Any:
    """`items` in blocks of `batch_size` rows: answers reach the driver as blocks finish."""
    import ray

    blocks = max(1, math.ceil(len(items) / settings.batch_size))
    return ray.data.from_items(items, override_num_blocks=blocks)


def _session(timeout_s: float) -> Any:
    """An aiohttp session whose every request has `timeout_s` in all (a deadline, not a
    time between bytes); runs in Ray workers."""
    import aiohttp

    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s))


def _payload(row: dict[str, Any]) -> dict[str, Any]:
    return {"payload": json.loads(row["body"])}


def _answer(row: dict[str, Any]) -> dict[str, Any]:
    return {"unit": row["unit"], "answer": json.dumps(row["http_response"], default=_plain)}


def _plain(value: Any) -> Any:
    """NumPy values Ray may hand back, as JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _reachable(address: str, timeout_s: float = 3.0) -> None:
    """A TCP connection to the cluster's HOST:PORT, or a `BatchInputError` saying what to do."""
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise BatchInputError(
            f"--ray-address {address!r} is not HOST:PORT, ray://HOST:PORT or auto"
        )
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            return
    except OSError as error:
        raise BatchInputError(
            f"the Ray cluster at {shown(address)} is not reachable ({error}); start it with "
            "`ray start --head` there, or leave --ray-address out for a local instance"
        ) from None
