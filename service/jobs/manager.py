"""Jobs as asyncio tasks: at most `parallel` at a time, resumed at start-up, one process each.

A job's kind (its envelope's `kind`, `service.jobs.envelope`) picks the runner: an async
function from the job to its summary. Processes sharing a store share its jobs: a job runs
where its lease is held (`JobStore.take`); elsewhere a launch waits for that lease to lapse
(the owner died) or for the job to end. The owner renews the lease while the job runs and
stops the job once it is no longer its own (cancelled through another process).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

from common.errors import EndpointError
from common.store import StoreBusyError, StoreWriteError, patient_with_store, process_owner
from generators.errors import GeneratorError
from judges.errors import JudgeError
from service.jobs.envelope import COMPARISON, JobSpec
from service.jobs.errors import NotRegisteredError, RequestError
from service.jobs.metrics import Metrics
from service.jobs.requests import JobStatus
from service.jobs.store import Job, JobStore

JobRunner = Callable[[Job], Awaitable[dict[str, Any]]]
UNFINISHED = (JobStatus.QUEUED, JobStatus.RUNNING)

log = logging.getLogger("sxs.jobs")
_BACKEND_ERRORS = (GeneratorError, JudgeError, EndpointError)
_STORE_ERRORS = (StoreWriteError, StoreBusyError, sqlite3.Error)


class JobManager:
    """Starts, cancels and resumes jobs; a job's end state is always written to the store (or,
    when the store cannot be written, kept in memory and shown)."""

    def __init__(
        self,
        store: JobStore,
        runners: Mapping[str, JobRunner],
        metrics: Metrics,
        parallel: int,
        lease_s: float = 30.0,
        patience_s: float = 600.0,
    ) -> None:
        """`lease_s`: how long a job stays this process's after its last renewal (renewed every
        `min(lease_s / 3, 2)` s); `patience_s`: how long a running job waits for a store that
        another process keeps locked before it fails."""
        self.store = store
        self.runners = dict(runners)
        self.metrics = metrics
        self.lease_s = lease_s
        self.patience_s = patience_s
        self.owner = process_owner()
        self._slots = asyncio.Semaphore(parallel)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._failed_unwritten: dict[str, str] = {}
        self.scan_s = min(lease_s / 2, 10.0)
        self._scanner: asyncio.Task[None] | None = None

    async def submit(self, spec: JobSpec) -> tuple[Job, bool]:
        """Create the job and start it, or find it again (a failed or cancelled one is requeued)
        and make sure it runs; the job and whether it is new."""
        job_id, created = await self.store.submit(spec)
        if created:
            self.metrics.jobs_submitted.inc()
        self.launch(job_id)
        return await self.find(job_id, spec.kind), created

    async def find(self, job_id: str, kind: str = COMPARISON) -> Job:
        """The job of that id and kind; `NotRegisteredError` when there is none. A job that
        failed for want of a writable store shows as failed, with why."""
        job = await self.store.get(job_id)
        if job is None or job.kind != kind:
            raise NotRegisteredError(f"unknown_{kind}", f"no {kind} job {job_id!r}", "id")
        unwritten = self._failed_unwritten.get(job_id)
        if unwritten is not None and job.status in UNFINISHED:
            return replace(job, status=JobStatus.FAILED, error=unwritten)
        return job

    async def resume(self) -> int:
        """Start every job left queued or running by an earlier process (one still held by a
        live process is waited for), then keep taking over jobs whose owner dies: every
        `scan_s` (half a lease, 10 s at most) an unfinished job whose lease lapsed is launched
        here, so a dead owner's job resumes within a lease and a scan."""
        jobs = await self.store.unfinished()
        for job in jobs:
            self.launch(job.id)
        if self._scanner is None or self._scanner.done():
            self._scanner = asyncio.create_task(self._scan(), name="job-takeover-scan")
        return len(jobs)

    async def _scan(self) -> None:
        while True:
            await asyncio.sleep(self.scan_s)
            try:
                jobs = await self.store.unfinished()
            except _STORE_ERRORS as error:  # the next scan tries again
                log.warning("scanning for jobs to take over failed (%s)", error)
                continue
            now = time.time()
            for job in jobs:
                running = self._tasks.get(job.id)
                if (running is None or running.done()) and job.leased_elsewhere(
                    self.owner, now
                ) == 0:
                    log.info("job %s: its owner's lease lapsed; taken over here", job.id)
                    self.launch(job.id)

    def launch(self, job_id: str) -> None:
        """Run the job unless it is already running (or waiting to) here."""
        task = self._tasks.get(job_id)
        if task is None or task.done():
            self._failed_unwritten.pop(job_id, None)
            self._tasks[job_id] = asyncio.create_task(self._run(job_id), name=f"job-{job_id}")

    async def cancel(self, job_id: str) -> None:
        """Stop the job, wherever it runs; finished items stay stored."""
        if await self.store.cancel(job_id):
            self.metrics.jobs_finished.labels(JobStatus.CANCELLED.value).inc()
        task = self._tasks.get(job_id)
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def shutdown(self) -> None:
        """Stop every task; their jobs stay unfinished, their leases are released, and they
        resume at the next start (here or in another process)."""
        tasks = [*self._tasks.values(), *([self._scanner] if self._scanner else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._scanner = None

    async def _run(self, job_id: str) -> None:
        """Wait until the job is free to run here (another process's lease lapsed), take it
        in a slot, and run it; return at once if it ended meanwhile."""
        with patient_with_store(self.patience_s):
            while True:
                job = await self.store.get(job_id)
                if job is None or job.status not in UNFINISHED:
                    return
                elsewhere = job.leased_elsewhere(self.owner, time.time())
                if elsewhere > 0:
                    await asyncio.sleep(min(elsewhere, self.lease_s) + 0.05)
                    continue
                async with self._slots:
                    try:
                        taken = await self._take(job_id)
                    except _STORE_ERRORS as error:  # e.g. resumed on a full disk
                        self._unwritable(job_id, str(error))
                        return
                    if taken:
                        await self._execute(job)
                        return

    async def _take(self, job_id: str) -> bool:
        """Take the job's lease. The take runs off the loop and lands even when this task is
        cancelled meanwhile (a service stopped right after a submission): it is then seen
        through and undone, so no lease outlives the task that took it."""
        taking = asyncio.ensure_future(self.store.take(job_id, self.owner, self.lease_s))
        try:
            return await asyncio.shield(taking)
        except asyncio.CancelledError:
            (taken,) = await asyncio.gather(taking, return_exceptions=True)
            if taken is True:
                await self._release(job_id)
            raise

    async def _execute(self, job: Job) -> None:
        """Run a job this process holds, renewing its lease meanwhile; write how it ended."""
        runner = asyncio.current_task()
        assert runner is not None
        keeper = asyncio.create_task(self._keep_lease(job.id, runner))
        self.metrics.jobs_running.inc()
        try:
            summary = await self.runners[job.kind](job)
        except asyncio.CancelledError:
            await self._release(job.id)
            raise
        except RequestError as error:  # e.g. resumed after its model left the registry
            await self._finish(job.id, JobStatus.FAILED, error.message)
        except _STORE_ERRORS as error:  # a full disk, a broken file, a lock held too long
            self._unwritable(job.id, str(error))
        except _BACKEND_ERRORS as error:
            self.metrics.backend_errors.labels(type(error).__name__).inc()
            await self._finish(job.id, JobStatus.FAILED, str(error))
        except Exception as error:
            log.exception("job %s failed", job.id)
            await self._finish(job.id, JobStatus.FAILED, f"internal error: {error!r}")
        else:
            await self._finish(job.id, JobStatus.DONE, summary=summary)
            if summary.get("pairs") and summary.get("score") is None:
                self.metrics.without_valid_verdict.inc()
        finally:
            keeper.cancel()
            self.metrics.jobs_running.dec()

    async def _keep_lease(self, job_id: str, runner: asyncio.Task[None]) -> None:
        """Renew the lease until the job ends; stop the runner once the job is not ours."""
        while True:
            await asyncio.sleep(min(self.lease_s / 3, 2.0))
            try:
                held = await self.store.renew(job_id, self.owner, self.lease_s)
            except _STORE_ERRORS as error:  # the runner meets the same store and reports it
                log.warning("job %s: its lease could not be renewed (%s)", job_id, error)
                continue
            if not held:
                log.warning("job %s was cancelled or taken over elsewhere; stopped", job_id)
                runner.cancel()
                return

    async def _finish(
        self,
        job_id: str,
        status: JobStatus,
        error: str | None = None,
        summary: dict[str, object] | None = None,
    ) -> None:
        try:
            finished = await self.store.finish(job_id, self.owner, status, error, summary)
        except _STORE_ERRORS as failure:
            self._unwritable(job_id, str(failure))
            return
        if finished:
            self.metrics.jobs_finished.labels(status.value).inc()
        else:
            log.warning("job %s ended %s here but was no longer ours", job_id, status.value)

    async def _release(self, job_id: str) -> None:
        try:
            await self.store.release(job_id, self.owner)
        except _STORE_ERRORS as error:  # the lease lapses by itself
            log.warning("job %s: its lease could not be released (%s)", job_id, error)

    def _unwritable(self, job_id: str, reason: str) -> None:
        """The job failed because the store cannot be written: kept failed in memory (the
        views show it) and counted; its stored state is left for a resubmission to resume."""
        message = (
            f"{reason}; resubmit to resume the job once the store can be written (free space, "
            "repair the file, or end what holds its lock)"
        )
        log.error("job %s: %s", job_id, message)
        self._failed_unwritten[job_id] = message
        self.metrics.store_write_errors.inc()
        self.metrics.jobs_finished.labels(JobStatus.FAILED.value).inc()
