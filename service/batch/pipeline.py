"""Units through Ray Data: the only module that imports Ray.

- `connect`: a Ray instance of this machine's CPUs (no address), or a running cluster
  (`auto`, `HOST:PORT`, `ray://HOST:PORT`), checked for reachability first;
- `http_answers`: one `ray.data.llm` HTTP processor per endpoint, with that endpoint's own
  timeout (a deadline per try: aiohttp's `total`) and retry policy; every endpoint's dataset
  runs at once, each in its own thread, so one that fails fails only its own units;
- `engine_answers`: the engine mode: vLLM engines in Ray actors run the same bodies
  (`engine_stage`), the LoRA adapter chosen per row;
- `local_answers`: a judge that runs in-process (chrF to the reference) as a Ray Data map.

Answers come back to the driver batch by batch, in small blocks (`batch_size` rows), so a
killed driver loses at most what was in flight. A dataset that stops answers each of its
units it had not answered with `Unanswered` (the reason), never with a result.

What Ray hands back is read with one care: Ray Data stores rows as Arrow tables, and Arrow
gives every row of a column the union of the keys it saw, the missing ones as null (measured:
a completion's `top_logprobs` {"1": …, "2": …} comes back with the other rows' tokens added
as null). A real server never sends a null for a key it has, so nulls are dropped from every
answer (`without_nulls`) before it is read.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import queue
import re
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from common.openai_http import RetryPolicy
from common.urls import shown
from service.batch.engine import EngineSpec
from service.batch.errors import BatchInputError

Answers = list[tuple[int, Any]]  # (unit index, the answer's JSON)


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


@dataclass(frozen=True, slots=True)
class Unanswered:
    """The answer of a unit whose pipeline stopped before answering it: why."""

    reason: str


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

    if ray.is_initialized():
        ray.shutdown()


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
        runs.append(_Run(processor(_dataset(rows, settings)), [i for i, _ in endpoint.rows], where))
    yield from _collect(runs)


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
    yield from _collect([_Run(dataset, [index for index, _ in rows])])


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
    yield from _collect([_Run(dataset, [index for index, _ in rows])])


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


def without_nulls(value: Any) -> Any:
    """`value` with every null dropped from its objects (see the module's docstring)."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


@dataclass(frozen=True, slots=True)
class _Run:
    """A dataset to run, the units it answers, and what to add to the reason it stopped."""

    dataset: Any
    units: list[int]
    where: str = ""


def _dataset(items: list[dict[str, Any]], settings: RaySettings) -> Any:
    """`items` in blocks of `batch_size` rows: answers reach the driver as blocks finish."""
    import ray

    blocks = max(1, math.ceil(len(items) / settings.batch_size))
    return ray.data.from_items(items, override_num_blocks=blocks)


def _collect(runs: list[_Run]) -> Iterator[Answers]:
    """The runs' answers as they arrive, every run at once (a thread each)."""
    if len(runs) <= 1:
        yield from (answers for run in runs for answers in _answers(run))
        return
    arrived: queue.Queue[Answers | None] = queue.Queue()

    def drain(run: _Run) -> None:
        try:
            for answers in _answers(run):
                arrived.put(answers)
        finally:
            arrived.put(None)

    pool = ThreadPoolExecutor(len(runs), thread_name_prefix="sxs-ray-run")
    try:
        for run in runs:
            pool.submit(drain, run)
        finished = 0
        while finished < len(runs):
            answers = arrived.get()
            if answers is None:
                finished += 1
            else:
                yield answers
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _answers(run: _Run) -> Iterator[Answers]:
    """One run's answers; if it stops, `Unanswered` for each unit it had not answered."""
    answered: set[int] = set()
    try:
        for batch in run.dataset.iter_batches(batch_size=None, batch_format="numpy"):
            answers = [
                (int(unit), without_nulls(json.loads(answer)))
                for unit, answer in zip(batch["unit"], batch["answer"], strict=True)
            ]
            answered.update(unit for unit, _ in answers)
            yield answers
    except Exception as error:
        stopped = Unanswered(pipeline_failure(error) + run.where)
        yield [(unit, stopped) for unit in run.units if unit not in answered]


def pipeline_failure(error: BaseException) -> str:
    """The reason a Ray pipeline stopped, in one line: the HTTP stage's own message when it
    gave up on a request, else the error's last line."""
    text = str(error)
    marker = "Reached maximum retries"
    if marker in text:
        line = text[text.index(marker) :].splitlines()[0]
        before = line.partition(" for input row ")[0]
        cause = re.search(r"Previous Exception: (.*?)\.? (?:Full Traceback|$)", line + " ")
        why = cause[1] if cause and cause[1] else "no answer"
        return f"the endpoint did not answer: {before.lower()} ({why})"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"the Ray pipeline failed: {lines[-1] if lines else type(error).__name__}"[:400]


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
