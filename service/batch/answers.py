"""What comes back from Ray's pipelines, read as answers: batches of (unit, answer) as they
arrive, every pipeline at once (a thread each), and a pipeline that stops answers each unit it
had not answered with `Unanswered` (its reason), never with a result.

Ray Data stores rows as Arrow tables, and Arrow gives every row of a column the union of the
keys it saw, the missing ones as null (measured: a completion's `top_logprobs` {"1": …, "2": …}
comes back with the other rows' tokens added as null). A real server never sends a null for a
key it has, so nulls are dropped from every answer (`without_nulls`) before it is read.
"""

from __future__ import annotations

import json
import queue
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

Answers = list[tuple[int, Any]]  # (unit index, the answer's JSON)


@dataclass(frozen=True, slots=True)
class Unanswered:
    """The answer of a unit whose pipeline stopped before answering it: why."""

    reason: str


@dataclass(frozen=True, slots=True)
class Run:
    """A dataset to run, the units it answers, and what to add to the reason it stopped."""

    dataset: Any
    units: list[int]
    where: str = ""


def without_nulls(value: Any) -> Any:
    """`value` with every null dropped from its objects (see the module's docstring)."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def collect(runs: list[Run]) -> Iterator[Answers]:
    """The runs' answers as they arrive, every run at once (a thread each)."""
    if len(runs) <= 1:
        yield from (answers for run in runs for answers in _answers(run))
        return
    arrived: queue.Queue[Answers | None] = queue.Queue()

    def drain(run: Run) -> None:
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


def _answers(run: Run) -> Iterator[Answers]:
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
