"""Jobs as asyncio tasks: at most `parallel` at a time, resumed at start-up.

A job's kind (its stored request's `kind`; comparisons have none) picks the runner: an async
function from the job to its summary.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

from common.errors import EndpointError
from generators.errors import GeneratorError
from judges.errors import JudgeError
from service.jobs.errors import NotRegisteredError, RequestError
from service.jobs.metrics import Metrics
from service.jobs.requests import JobStatus
from service.jobs.store import Job, JobStore, StoreWriteError

JobRunner = Callable[[Job], Awaitable[dict[str, Any]]]
COMPARISON = "comparison"


def job_kind(job: Job) -> str:
    """`comparison`, or the kind a job's request names."""
    return str(job.request.get("kind", COMPARISON))


log = logging.getLogger("sxs.jobs")
_BACKEND_ERRORS = (GeneratorError, JudgeError, EndpointError)


class JobManager:
    """Starts, cancels and resumes jobs; a job's end state is always written to the store."""

    def __init__(
        self, store: JobStore, runners: Mapping[str, JobRunner], metrics: Metrics, parallel: int
    ) -> None:
        self.store = store
        self.runners = dict(runners)
        self.metrics = metrics
        self._slots = asyncio.Semaphore(parallel)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._cancelled: set[str] = set()
        self._failed_unwritten: dict[str, str] = {}

    def submit(
        self, request: dict[str, Any], judge: str, version: str, total: int
    ) -> tuple[str, bool]:
        """Create the job and start it, or find it again (a failed or cancelled one is requeued)
        and make sure it runs; (its id, whether it is new). `version` is what else makes two
        equal requests different jobs (a template, an edited set)."""
        job_id = self.store.job_id(request, judge, version)
        created = self.store.submit(job_id, request, judge, total)
        if created:
            self.metrics.jobs_submitted.inc()
        self.launch(job_id)
        return job_id, created

    def find(self, job_id: str, kind: str = COMPARISON) -> Job:
        """The job of that id and kind; `NotRegisteredError` when there is none. A job that
        failed for want of a writable store shows as failed, with why."""
        job = self.store.get(job_id)
        if job is None or job_kind(job) != kind:
            raise NotRegisteredError(f"unknown_{kind}", f"no {kind} job {job_id!r}", "id")
        unwritten = self._failed_unwritten.get(job_id)
        if unwritten is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
            return replace(job, status=JobStatus.FAILED, error=unwritten)
        return job

    def resume(self) -> int:
        """Start every job left queued or running by an earlier process."""
        jobs = self.store.unfinished()
        for job in jobs:
            self.launch(job.id)
        return len(jobs)

    def launch(self, job_id: str) -> None:
        """Run the job unless it is already running here."""
        task = self._tasks.get(job_id)
        if task is None or task.done():
            self._cancelled.discard(job_id)
            self._failed_unwritten.pop(job_id, None)
            self._tasks[job_id] = asyncio.create_task(self._run(job_id), name=f"job-{job_id}")

    async def cancel(self, job_id: str) -> None:
        """Stop the job; finished items stay stored."""
        self._cancelled.add(job_id)
        task = self._tasks.get(job_id)
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        job = self.store.get(job_id)
        if job is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
            self._finish(job_id, JobStatus.CANCELLED)

    async def shutdown(self) -> None:
        """Stop every task; their jobs stay unfinished and resume at the next start."""
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _run(self, job_id: str) -> None:
        async with self._slots:
            job = self.store.get(job_id)
            if job is None or job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
                return
            self.metrics.jobs_running.inc()
            try:
                self.store.set_status(job_id, JobStatus.RUNNING)
                summary = await self.runners[job_kind(job)](job)
            except asyncio.CancelledError:
                if job_id in self._cancelled:
                    self._finish(job_id, JobStatus.CANCELLED)
                raise
            except RequestError as error:  # e.g. resumed after its model left the registry
                self._finish(job_id, JobStatus.FAILED, error.message)
            except (StoreWriteError, sqlite3.Error) as error:  # a full disk, a broken file
                self._unwritable(job_id, str(error))
            except _BACKEND_ERRORS as error:
                self.metrics.backend_errors.labels(type(error).__name__).inc()
                self._finish(job_id, JobStatus.FAILED, str(error))
            except Exception as error:
                log.exception("job %s failed", job_id)
                self._finish(job_id, JobStatus.FAILED, f"internal error: {error!r}")
            else:
                self._finish(job_id, JobStatus.DONE, summary=summary)
                if summary.get("pairs") and summary.get("score") is None:
                    self.metrics.without_valid_verdict.inc()
            finally:
                self.metrics.jobs_running.dec()

    def _finish(
        self,
        job_id: str,
        status: JobStatus,
        error: str | None = None,
        summary: dict[str, object] | None = None,
    ) -> None:
        try:
            self.store.set_status(job_id, status, error, summary)
        except StoreWriteError as failure:
            self._unwritable(job_id, str(failure))
            return
        self.metrics.jobs_finished.labels(status.value).inc()

    def _unwritable(self, job_id: str, reason: str) -> None:
        """The job failed because the store cannot be written: kept failed in memory (the
        views show it) and counted; its stored state is left for a resubmission to resume."""
        message = f"{reason}; free space or repair the file, then resubmit to resume the job"
        log.error("job %s: %s", job_id, message)
        self._failed_unwritten[job_id] = message
        self.metrics.store_write_errors.inc()
        self.metrics.jobs_finished.labels(JobStatus.FAILED.value).inc()
