"""Consistency jobs of the service: the same durable job model as comparisons.

A job's units are (model, item) pairs; each is stored as soon as the item is answered in every
language, answers go through the multiple-choice cache, and the report is computed from the
stored units. A killed or failed job resumes with the units it lacks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common.openai_http import ClientSettings
from common.store import content_key
from generators.errors import UnknownModelError
from generators.mcq_client import McqAnswerer
from generators.mcq_sets import McqSet, read_mcq_set
from generators.registry import Registry
from service.jobs.envelope import JobSpec
from service.jobs.errors import NotRegisteredError
from service.jobs.mcq_runs import (
    ItemAnswers,
    answer_items,
    check_run,
    reports,
)
from service.jobs.requests import ConsistencyRequest
from service.jobs.store import Job, JobStore

KIND = "consistency"


class ConsistencyJobs:
    """Checks consistency requests and runs them."""

    def __init__(
        self,
        *,
        registry: Registry,
        mcq_sets: dict[str, Path],
        store: JobStore,
        cache_file: Path,
        client: ClientSettings,
    ) -> None:
        self.registry = registry
        self.sets: dict[str, McqSet] = {name: read_mcq_set(path) for name, path in mcq_sets.items()}
        self.digests = {
            name: content_key([item.model_dump(mode="json") for item in mcq_set.items])[:16]
            for name, mcq_set in self.sets.items()
        }  # part of a job's id: an edited set is a new job
        self.store = store
        self.cache_file = cache_file
        self.client = client
        self._requests: dict[str, ConsistencyRequest] = {}  # by job id: each parsed once

    def check(self, request: ConsistencyRequest) -> tuple[McqSet, list[str], int]:
        """The set, the languages and the number of units; a `RequestError` naming the problem."""
        mcq_set = self.sets.get(request.mcq_set)
        if mcq_set is None:
            known = ", ".join(self.sets) or "none"
            raise NotRegisteredError(
                "unknown_mcq_set", f"set {request.mcq_set!r} is not registered ({known})", "mcq_set"
            )
        for model in request.models:
            try:
                self.registry.served(model)
            except UnknownModelError as error:
                raise NotRegisteredError("unknown_model", str(error), "models") from None
        languages = request.languages or list(mcq_set.languages)
        check_run(mcq_set, languages, request.s, request.reference_accuracy)
        return mcq_set, languages, len(request.models) * len(mcq_set.items)

    def submission(self, request: ConsistencyRequest) -> JobSpec:
        """The job for `request`, checked in full; its version is the set's digest (an edited
        set is a new job)."""
        _, languages, units = self.check(request)
        return JobSpec(
            kind=KIND,
            request=request.model_dump(mode="json"),
            judge="",
            version=self.digests[request.mcq_set],
            total=units,
            resolved={"languages": languages},
        )

    def request_of(self, job: Job) -> ConsistencyRequest:
        """The job's request, parsed once per process."""
        request = self._requests.get(job.id)
        if request is None:
            request = ConsistencyRequest.model_validate(job.request)
            self._requests[job.id] = request
        return request

    async def run(self, job: Job) -> dict[str, Any]:
        """Answer the units the job lacks; the report over all of them."""
        request = self.request_of(job)
        mcq_set, languages, _ = self.check(request)
        done = await self.store.done_ids(job.id)
        answerer = McqAnswerer(self.registry, self.cache_file, client=self.client)
        position = {item.id: index for index, item in enumerate(mcq_set.items)}

        async def keep(unit: ItemAnswers) -> None:
            index = request.models.index(unit.model) * len(mcq_set.items) + position[unit.item_id]
            record = {"model": unit.model, "item_id": unit.item_id, "answers": unit.answers}
            await self.store.add_item(job.id, index, unit.key, record)

        try:
            for model in request.models:
                todo = [i for i in mcq_set.items if ItemAnswers(model, i.id, {}).key not in done]
                await answer_items(answerer, model, todo, languages, on_item=keep)
        finally:
            await answerer.aclose()
        return await self.report(job)

    async def report(self, job: Job) -> dict[str, Any]:
        """The report over the job's stored units."""
        request = self.request_of(job)
        mcq_set, languages, _ = self.check(request)
        units = [
            ItemAnswers(record["model"], record["item_id"], record["answers"])
            for record in await self.store.items(job.id)
        ]
        return reports(units, mcq_set, languages, request.s, request.reference_accuracy)
