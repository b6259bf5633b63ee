"""Running a comparison: generate what is missing, judge both orders, store every item.

Each item flows on its own (bounded concurrency): both models' responses (through the
generation cache), the order-swapped judgment (through the judgment cache), then the item row.
Every reply is written as it arrives, so a job killed at any point resumes without generating
or judging again what it had received.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

from pydantic import TypeAdapter

from common.concurrency import bounded_map
from common.openai_http import ClientSettings
from common.single_flight import SingleFlight
from generators.cache import GenerationCache
from generators.client import Generation, GenerationRequest, Generator
from generators.eval_sets import EvalSet
from generators.registry import Registry
from judges.backends.base import Judge
from judges.backends.batch import BatchJudge
from judges.cache import JudgmentCache
from judges.claims import JudgmentClaims
from judges.pairs import Pair
from judges.panel import PanelResult, panel_result
from judges.prompts import JudgeTemplate
from judges.results import RecordedPair, result_record
from judges.statistics import Summary
from judges.sxs import JudgedCall, PairResult, SideBySide
from judges.usage import JudgePrices
from service.jobs.comparison_requests import ComparisonRequests, Item
from service.jobs.comparison_summary import OnLanguage, summary_of_records
from service.jobs.envelope import comparison_judges
from service.jobs.errors import (
    ConflictingRequestError,
)
from service.jobs.requests import ComparisonRequest, JobStatus
from service.jobs.store import Job, JobStore

SUMMARY_FIELDS = {field.name for field in fields(Summary)}
STORED_SUMMARY = TypeAdapter(Summary)  # a stored summary's nested panel comes back typed
PRICES_KEY = "judge_prices"  # beside a finished job's summary: its judges' prices at the time


class ComparisonItem(RecordedPair):
    """One stored item of a comparison: its judged pair and what was compared."""

    instruction: str
    response_a: str
    response_b: str
    score: float | None = None


class Comparisons(ComparisonRequests):
    """Checks comparison requests (`ComparisonRequests`) and runs them."""

    def __init__(
        self,
        *,
        registry: Registry,
        eval_sets: dict[str, EvalSet],
        judges: dict[str, Judge],
        default_judge: str,
        template: JudgeTemplate,
        store: JobStore,
        generation_cache: GenerationCache,
        judgment_cache: JudgmentCache,
        parse_attempts: int,
        item_concurrency: int,
        max_items: int,
        generator_client: ClientSettings,
        on_item: Callable[[PairResult | PanelResult], None] | None = None,
        prices: Mapping[str, JudgePrices | None] | None = None,
        claims: JudgmentClaims | None = None,
    ) -> None:
        self.registry = registry
        self.eval_sets = eval_sets
        self.judges = judges
        self.default_judge = default_judge
        self.template = template
        self.store = store
        self.generation_cache = generation_cache
        self.judgment_cache = judgment_cache
        self.parse_attempts = parse_attempts
        self.item_concurrency = item_concurrency
        self.max_items = max_items
        self.generator_client = generator_client
        self.on_item = on_item
        self.prices = dict(prices or {})
        self._summaries: dict[str, tuple[int, bool, Summary]] = {}
        self._on_language: dict[str, dict[str, OnLanguage]] = {}  # by job, by item: once each
        self._flights: SingleFlight[JudgedCall] = SingleFlight()  # shared by every job
        self._generating: SingleFlight[Generation] = SingleFlight()  # the same
        self._claims = claims  # ... and with other processes on the store
        self._requests: dict[str, ComparisonRequest] = {}  # by job id: each parsed once

    def request_of(self, job: Job) -> ComparisonRequest:
        """The job's request, parsed once per process (a job's request never changes)."""
        request = self._requests.get(job.id)
        if request is None:
            request = self._requests[job.id] = ComparisonRequest.model_validate(job.request)
        return request

    @staticmethod
    def judges_of(job: Job) -> list[str]:
        """The judges the job was resolved to at submission."""
        return comparison_judges(job.resolved, job.judge)

    async def run(self, job: Job) -> Summary:
        """Finish every item the job does not have yet; the summary of all its items."""
        request = self.request_of(job)
        names = [self.judge_name(name) for name in self.judges_of(job)]  # still configured?
        done = await self.store.done_ids(job.id)
        todo = [item for item in self.items(request) if item.id not in done]
        generator = Generator(
            self.registry,
            cache=self.generation_cache,
            client=self.generator_client.but(concurrency=2 * self.item_concurrency),
            read_back=True,  # another process may generate the same response: one is kept
            flights=self._generating,  # ... and another job of this one waits for it
        )
        panel = {
            name: SideBySide(
                self.judges[name],
                template=self.template,
                cache=self.judgment_cache,
                parse_attempts=self.parse_attempts,
                concurrency=1,
                flush_every=1,
                flights=self._flights,
                # a batch's calls are claimed in its ledger; they may wait hours on a provider
                claims=None if isinstance(self.judges[name], BatchJudge) else self._claims,
            )
            for name in names
        }

        generating = asyncio.Semaphore(self.item_concurrency)
        batched = any(isinstance(sxs.judge, BatchJudge) for sxs in panel.values())

        async def one(item: Item) -> None:
            async with generating:
                a, b = await generator.generate(
                    [
                        GenerationRequest(request.model_a, request.language, item.id, item.text),
                        GenerationRequest(request.model_b, request.language, item.id, item.text),
                    ]
                )
            pair = item.pair(request.language, a.text, b.text)
            results = await asyncio.gather(*(sxs.run([pair]) for sxs in panel.values()))
            result: PairResult | PanelResult = results[0][0]
            if len(panel) > 1:
                result = panel_result({name: r for name, (r,) in zip(panel, results, strict=True)})
            record = result_record(result) | {
                "instruction": item.text,
                "response_a": a.text,
                "response_b": b.text,
            }
            await self.store.add_item(job.id, item.position, item.id, record)
            if self.on_item is not None:
                self.on_item(result)

        # a batch judge answers all at once what it is given: every item waits on it together
        width = max(len(todo), 1) if batched else self.item_concurrency
        try:
            await bounded_map(todo, one, width)
        finally:
            await generator.aclose()
        return await self.summary(job, final=True)

    async def run_job(self, job: Job) -> dict[str, Any]:
        """`run` for the job manager: the summary as a plain dict, with the prices of its
        judges at the time (a finished job stays readable, and priced, whatever the config
        says later)."""
        summary = (await self.run(job)).as_dict()
        names = self.judges_of(job)
        prices = {name: self.prices.get(name) for name in names}
        return summary | {
            PRICES_KEY: {
                name: None if price is None else price.model_dump()
                for name, price in prices.items()
            }
        }

    async def judge_given(
        self,
        judge_name: str | None,
        instruction: str,
        response_a: str,
        response_b: str,
        reference: str | None,
    ) -> tuple[str, PairResult]:
        """Judge two given responses in both orders, now, through the judgment cache; the
        judge's name and the result. A batch judge is refused: its provider may take hours."""
        name = self.judge_name(judge_name)
        if isinstance(self.judges[name], BatchJudge):
            raise ConflictingRequestError(
                "batch_judge",
                f"judge {name!r} answers through a provider's Batch API, which may take hours: "
                "submit a comparison (POST /v1/comparisons) with it instead, or name a judge "
                "that answers at once",
                "judge",
            )
        pair = Pair(
            id="request",
            instruction=instruction,
            response_a=response_a,
            response_b=response_b,
            reference=reference,
        )
        sxs = SideBySide(
            self.judges[name],
            template=self.template,
            cache=self.judgment_cache,
            parse_attempts=self.parse_attempts,
            flush_every=1,
            flights=self._flights,  # identical calls at once, here and in jobs: asked once
            claims=self._claims,
        )
        (result,) = await sxs.run([pair])
        return name, result

    def waiting_on(self, job: Job) -> list[str]:
        """What a running job waits on beyond its own work: its batch judges' batches (of
        those still configured)."""
        judges = [self.judges[name] for name in self.judges_of(job) if name in self.judges]
        return [line for judge in judges if isinstance(judge, BatchJudge)
                for line in judge.waiting()]  # fmt: skip

    def judge_cost(self, job: Job, summary: Summary) -> float | None:
        """The estimated price of the judge tokens a summary rests on: a finished job's from
        the prices stored with it, a running one's from the judges' configured prices; None
        when a judge has none (or, for a job of an older version, is no longer configured)."""
        prices = self._job_prices(job)
        if summary.panel is None:
            return summary.usage.cost(prices.get(job.judge))
        costs = [score.usage.cost(prices.get(score.judge)) for score in summary.panel.judges]
        return None if None in costs else sum(cost or 0.0 for cost in costs)

    def _job_prices(self, job: Job) -> dict[str, JudgePrices | None]:
        stored = (job.summary or {}).get(PRICES_KEY)
        if isinstance(stored, dict):
            return {name: None if price is None else JudgePrices.model_validate(price)
                    for name, price in stored.items()}  # fmt: skip
        return dict(self.prices)

    async def stored_items(self, job_id: str, offset: int, limit: int) -> list[ComparisonItem]:
        """Finished items in eval-set order."""
        records = await self.store.items(job_id, offset, limit)
        return [ComparisonItem.model_validate(record) for record in records]

    async def summary_of(self, job: Job) -> Summary | None:
        """The job's summary: the one stored at its end, or (while it runs, or when stored by an
        older version without every field) computed from its items; None before any item."""
        stored = {k: v for k, v in (job.summary or {}).items() if k != PRICES_KEY}
        if stored and set(stored) == SUMMARY_FIELDS:
            return STORED_SUMMARY.validate_python(stored)
        if not job.done:
            return None
        return await self.summary(job, final=job.status is JobStatus.DONE)

    async def summary(self, job: Job, *, final: bool = False) -> Summary:
        """Statistics over the job's finished items, in a worker thread: computed once per
        number of items, each item's language identified once. The length-controlled score's
        bootstrap (about a second) is left to the `final` one."""
        known = self._summaries.get(job.id)
        count = await self.store.count_items(job.id)
        if known is not None and (known[0], known[1]) == (count, final):
            return known[2]
        records = await self.store.items(job.id)
        request = self.request_of(job)
        candidates = self.candidate_languages(request)
        checked = self._on_language.setdefault(job.id, {})
        summary, new = await asyncio.to_thread(
            summary_of_records, records, request, candidates, final, checked
        )
        checked.update(new)
        if final:
            self._on_language.pop(job.id, None)
        self._summaries[job.id] = (len(records), final, summary)
        return summary
