"""The batch path's driver: check, plan, run the passes on Ray, store what arrives.

1. Every cell's request is checked and its units listed (`service.plans.units`); a judge the
   path cannot send, and (when there is work) a backend that does not answer or a Ray cluster
   out of reach, stop the run before any unit is submitted.
2. The generation pass: every missing response, through the model's endpoints.
3. The judge passes: every missing judge call over the pairs now stored, both orders; an
   output that is no verdict is asked again (a judge whose retries differ) up to the service's
   `parse_attempts`, then stored as invalid, as the service does (a later run asks again).

The driver is the store's only writer: each batch of answers is written as it arrives, so a
killed driver loses at most the batches in flight, and the same command submits only what the
store lacks. A unit without a result (an error answer, a malformed one, a pipeline that
failed) is reported with its reason and never stored.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from generators.cache import GenerationRecord
from generators.client import request_seed
from generators.registry import PromptFormat
from judges.backends.base import JudgeReply
from judges.backends.openai import JudgeModelConfig
from judges.sxs import asks_again
from service.batch import pipeline
from service.batch.answers import Answers, Unanswered
from service.batch.checks import HTTP_JUDGES, check_backends, sendable_judges
from service.batch.context import BatchContext
from service.batch.engine import EngineSpec
from service.batch.pipeline import EndpointRows, RaySettings
from service.batch.wire import (
    Failure,
    HttpRequest,
    generation_label,
    generation_request,
    judge_http_request,
    judgment_label,
    next_attempt,
    read_generation,
    read_judgment,
)
from service.jobs.requests import ComparisonRequest
from service.matrix.recipe import MatrixRecipe
from service.plans.units import GenerationUnit, JudgmentUnit, Units, missing_units

Progress = Callable[[str, int, int], None]  # (stage, units done, units in the stage)


@dataclass
class StageCounts:
    """One kind of unit: stored before the run, submitted, stored by it, failed (with why)."""

    stored_before: int = 0
    submitted: int = 0
    stored: int = 0
    failed: list[Failure] = field(default_factory=list)


@dataclass
class BatchReport:
    """What a run did."""

    generations: StageCounts
    judgments: StageCounts
    invalid: int = 0  # judge replies that were no verdict after every attempt (stored invalid)
    parse_retries: int = 0
    blocked_pairs: int = 0  # pairs left unjudged: a response failed
    seconds: float = 0.0

    @property
    def submitted(self) -> int:
        """Units sent to Ray, parse retries included."""
        return self.generations.submitted + self.judgments.submitted

    @property
    def failed(self) -> list[Failure]:
        """Every unit without a result."""
        return self.generations.failed + self.judgments.failed


@dataclass(frozen=True, slots=True)
class Sender:
    """How units reach a model: Ray's HTTP processor per endpoint, or (`engine`) vLLM engines
    in Ray actors running the same bodies."""

    settings: RaySettings
    engine: EngineSpec | None = None

    def answers(self, requests: list[tuple[int, HttpRequest]]) -> Iterator[Answers]:
        """Answers to (unit index, request) as they arrive."""
        if self.engine is not None:
            rows = [(index, request.body) for index, request in requests]
            yield from pipeline.engine_answers(rows, self.engine, self.settings)
        else:
            yield from pipeline.http_answers(_by_endpoint(requests), self.settings)


def run_batch(
    context: BatchContext,
    recipe: MatrixRecipe,
    settings: RaySettings,
    on_progress: Progress | None = None,
    engine: Callable[[], EngineSpec] | None = None,
) -> BatchReport:
    """Store every generation and judge call `recipe` needs that the store lacks; with
    `engine` (the engines' spec, made when there is work), models run in vLLM engines inside
    Ray (the engine mode), else through the registry's endpoints and the judges' servers."""
    started = time.monotonic()
    requests = recipe.cell_requests()
    first = missing(context, requests)
    judges = sendable_judges(context, requests, engine is not None)
    report = BatchReport(
        StageCounts(stored_before=first.stored_generations),
        StageCounts(stored_before=first.stored_judgments),
    )
    if not first.generations and not first.judgments:
        report.seconds = time.monotonic() - started
        return report
    check_backends(context, first, judges, engine is not None)
    sender = Sender(settings, engine() if engine is not None else None)
    pipeline.connect(settings)
    try:
        _generate(context, first.generations, sender, report, on_progress)
        second = missing(context, requests)
        report.blocked_pairs = second.blocked_pairs
        _judge(context, second.judgments, sender, report, on_progress)
    finally:
        pipeline.disconnect()
    report.seconds = time.monotonic() - started
    return report


def missing(context: BatchContext, requests: list[ComparisonRequest]) -> Units:
    """The units the store lacks for `requests`, as the service keys them."""
    return missing_units(
        context.requests, context.generation_cache, context.judgment_cache, requests
    )


def _generate(
    context: BatchContext,
    units: list[GenerationUnit],
    sender: Sender,
    report: BatchReport,
    on_progress: Progress | None,
) -> None:
    registry = context.registry
    chat = registry.prompt_format is PromptFormat.CHAT
    client = context.generator_client
    requests = [generation_request(registry, unit, client) for unit in units]
    counts = report.generations
    counts.submitted += len(units)
    cache = context.generation_cache
    labels = [generation_label(unit) for unit in units]
    answered = 0
    for answers in _arrived(sender.answers(list(enumerate(requests))), labels, counts.failed):
        records = []
        for index, answer in answers:
            unit = units[index]
            read = read_generation(answer, chat, unit)
            if isinstance(read, Failure):
                counts.failed.append(read)
                continue
            request = unit.request
            seed = request_seed(request.model, request.language, request.item_id)
            records.append(GenerationRecord(
                unit.key, request.model, request.language, request.item_id, seed, read
            ))  # fmt: skip
        cache.put_many(records)
        counts.stored += len(records)
        answered += len(answers)
        _show(on_progress, "generations", answered, len(units))


def _judge(
    context: BatchContext,
    units: list[JudgmentUnit],
    sender: Sender,
    report: BatchReport,
    on_progress: Progress | None,
) -> None:
    counts = report.judgments
    total = len(units)
    done = 0
    while units:
        counts.submitted += len(units)
        again: list[JudgmentUnit] = []
        for batch in _judge_pass(context, units, sender, counts):
            final: dict[str, dict[str, JudgeReply]] = defaultdict(dict)
            for unit, reply in batch:
                judge = context.judges[unit.judge]
                attempts = context.parse_attempts
                if asks_again(reply, unit.call.attempt, attempts, judge.retries_differ):
                    again.append(next_attempt(unit, reply))
                    continue
                report.invalid += reply.verdict is None
                final[unit.judge][unit.key] = reply
                done += 1
            for name, replies in final.items():
                identity = context.judges[name].identity
                context.judgment_cache.put_many(identity, context.template.hash, replies)
                counts.stored += len(replies)
            _show(on_progress, "judge calls", done + len(counts.failed), total)
        report.parse_retries += len(again)
        units = again


def _judge_pass(
    context: BatchContext, units: list[JudgmentUnit], sender: Sender, counts: StageCounts
) -> Iterator[list[tuple[JudgmentUnit, JudgeReply]]]:
    """Batches of (unit, reply) as they arrive; failures go into `counts`."""
    http = {index for index, unit in enumerate(units)
            if context.judge_configs[unit.judge].kind in HTTP_JUDGES}  # fmt: skip
    labels = [judgment_label(unit) for unit in units]
    arriving = _arrived(_judge_answers(context, units, http, sender), labels, counts.failed)
    for answers in arriving:
        replies = []
        for index, answer in answers:
            unit = units[index]
            if index in http:
                config = context.judge_configs[unit.judge]
                assert isinstance(config, JudgeModelConfig)
                read = read_judgment(answer, config, unit)
            else:
                read = _local_reply(answer, unit)
            if isinstance(read, Failure):
                counts.failed.append(read)
            else:
                replies.append((unit, read))
        yield replies


def _arrived(
    answers: Iterator[Answers], labels: list[str], failed: list[Failure]
) -> Iterator[Answers]:
    """`answers` as they arrive, without the units their pipeline stopped before answering:
    those are failures with its reason (`labels`: each unit's name, by index)."""
    for batch in answers:
        stopped = {index: answer for index, answer in batch
                   if isinstance(answer, Unanswered)}  # fmt: skip
        failed += [Failure(labels[index], answer.reason) for index, answer in stopped.items()]
        yield [(index, answer) for index, answer in batch if index not in stopped]


def _judge_answers(
    context: BatchContext, units: list[JudgmentUnit], http: set[int], sender: Sender
) -> Iterator[Answers]:
    requests = []
    local: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for index, unit in enumerate(units):
        config = context.judge_configs[unit.judge]
        if index in http:
            assert isinstance(config, JudgeModelConfig)
            requests.append((index, judge_http_request(config, unit)))
        else:
            call = dataclasses.asdict(unit.call) | {"order": unit.call.order.value}
            local[unit.judge].append((index, call))
    yield from sender.answers(requests)
    for name, rows in local.items():
        config_json = context.judge_configs[name].model_dump(mode="json")
        yield from pipeline.local_answers(config_json, rows, sender.settings)


def _local_reply(answer: Any, unit: JudgmentUnit) -> JudgeReply | Failure:
    if "error" in answer:
        return Failure(judgment_label(unit), f"the judge failed: {answer['error']['message']}")
    return JudgeReply.from_fields(answer)


def _by_endpoint(requests: list[tuple[int, HttpRequest]]) -> list[EndpointRows]:
    """Requests grouped by URL, headers, timeout and retry policy: one Ray HTTP processor each."""
    groups: dict[tuple[Any, ...], EndpointRows] = {}
    for index, request in requests:
        key = (request.url, tuple(sorted(request.headers.items())), request.timeout_s,
               request.retry)  # fmt: skip
        group = groups.setdefault(
            key, EndpointRows(request.url, request.headers, request.timeout_s, request.retry, [])
        )
        group.rows.append((index, request.body))
    return list(groups.values())


def _show(on_progress: Progress | None, stage: str, done: int, total: int) -> None:
    if on_progress is not None:
        on_progress(stage, done, total)
