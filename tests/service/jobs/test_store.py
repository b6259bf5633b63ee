"""The job store's lease: one owner at a time, taken over only once it lapses, no end written
by a process that is no longer the owner, and none left behind by a process that stopped."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

from common.store import content_key
from service.jobs.envelope import COMPARISON, JobSpec
from service.jobs.manager import JobManager
from service.jobs.metrics import Metrics
from service.jobs.requests import JobStatus
from service.jobs.store import Job, JobStore

REQUEST = {"model_a": "good", "model_b": "bad", "language": "es"}
SPEC = JobSpec(COMPARISON, REQUEST, judge="llm", version="", total=3)


def test_a_job_has_one_owner_until_its_lease_lapses(tmp_path: Path) -> None:
    async def scenario() -> None:
        first, second = JobStore(tmp_path / "sxs.db"), JobStore(tmp_path / "sxs.db")
        job_id, created = await first.submit(SPEC)
        assert created
        assert await first.take(job_id, "A", lease_s=0.3)
        assert not await second.take(job_id, "B", lease_s=0.3)  # A's lease is ahead
        assert await first.renew(job_id, "A", lease_s=0.3)
        assert not await second.renew(job_id, "B", lease_s=0.3)
        await asyncio.sleep(0.4)  # A stopped renewing (it died)
        assert await second.take(job_id, "B", lease_s=30)
        assert not await first.renew(job_id, "A", lease_s=30)  # A learns it lost the job
        assert not await first.finish(job_id, "A", JobStatus.DONE)  # and cannot end it
        job = await second.get(job_id)
        assert job is not None and (job.status, job.owner) == (JobStatus.RUNNING, "B")
        assert await second.finish(job_id, "B", JobStatus.DONE, summary={"score": 50.0})
        job = await first.get(job_id)
        assert job is not None and job.status is JobStatus.DONE and job.owner is None
        assert not await first.take(job_id, "A", lease_s=30)  # a finished job is not taken

    asyncio.run(scenario())


def test_a_cancel_from_anyone_ends_the_owners_lease(tmp_path: Path) -> None:
    async def scenario() -> None:
        owner, other = JobStore(tmp_path / "sxs.db"), JobStore(tmp_path / "sxs.db")
        job_id, _ = await owner.submit(SPEC)
        assert await owner.take(job_id, "A", lease_s=30)
        assert await other.cancel(job_id)
        assert not await other.cancel(job_id)  # already ended
        assert not await owner.renew(job_id, "A", lease_s=30)
        assert not await owner.finish(job_id, "A", JobStatus.DONE)
        job = await owner.get(job_id)
        assert job is not None and job.status is JobStatus.CANCELLED
        assert await other.submit(SPEC) == (job_id, False)  # requeued, not created
        job = await owner.get(job_id)
        assert job is not None and (job.status, job.owner) == (JobStatus.QUEUED, None)
        assert await other.take(job_id, "B", lease_s=30)  # nobody holds a requeued job

    asyncio.run(scenario())


def test_a_released_job_is_taken_at_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = JobStore(tmp_path / "sxs.db")
        job_id, _ = await store.submit(SPEC)
        assert await store.take(job_id, "A", lease_s=600)
        await store.release(job_id, "A")  # A shut down cleanly
        assert await store.take(job_id, "B", lease_s=600)
        job = await store.get(job_id)
        assert job is not None and job.status is JobStatus.RUNNING

    asyncio.run(scenario())


def test_a_store_written_before_leases_gains_their_columns(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "sxs.db") as connection:
        connection.execute(
            "create table jobs (id text primary key, request text not null, judge text not null,"
            " status text not null, total integer not null, error text, summary text,"
            " created_at float, updated_at float)"
        )
        connection.execute(
            "insert into jobs values ('old', '{}', 'llm', 'running', 1, null, null, 1.0, 1.0)"
        )

    async def scenario() -> None:
        store = JobStore(tmp_path / "sxs.db")
        assert [job.id for job in await store.unfinished()] == ["old"]
        assert await store.take("old", "A", lease_s=30)

    asyncio.run(scenario())


class SlowlyAnsweredTake(JobStore):
    """A store whose take lands at once but whose answer comes back late (as one run off the
    loop does while its task is being cancelled)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.landed = asyncio.Event()

    async def take(self, job_id: str, owner: str, lease_s: float) -> bool:
        taken = await super().take(job_id, owner, lease_s)
        self.landed.set()
        await asyncio.sleep(0.5)
        return taken


def test_a_service_stopped_while_it_takes_a_job_leaves_no_lease_behind(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = SlowlyAnsweredTake(tmp_path / "sxs.db")
        ran: list[str] = []

        async def runner(job: Job) -> dict[str, Any]:
            ran.append(job.id)
            return {}

        manager = JobManager(store, {COMPARISON: runner}, Metrics(), parallel=1, lease_s=600)
        submitted, _ = await manager.submit(SPEC)
        await asyncio.wait_for(store.landed.wait(), timeout=10)
        await manager.shutdown()  # the take landed; its answer had not come back
        job = await store.get(submitted.id)
        assert job is not None and job.status is JobStatus.RUNNING
        assert job.owner is None and job.lease_until is None  # the next process takes it at once
        assert ran == []

    asyncio.run(scenario())


def test_jobs_stored_before_the_envelope_are_read_and_found_again(tmp_path: Path) -> None:
    """A comparison stored bare and a consistency job stored as {kind, request} (as versions
    before the envelope wrote them, with their ids) read as their kind, and submitting the same
    job again finds them: their ids did not change."""
    consistency = {"models": ["good"], "mcq_set": "belebele"}
    old_rows = {
        content_key(REQUEST, "llm", "v")[:20]: REQUEST,
        content_key({"kind": "consistency", "request": consistency}, "", "d")[:20]: {
            "kind": "consistency",
            "request": consistency,
        },
    }
    store = JobStore(tmp_path / "sxs.db")
    with sqlite3.connect(tmp_path / "sxs.db") as connection:
        for job_id, stored in old_rows.items():
            connection.execute(
                "insert into jobs (id, request, judge, status, total, created_at, updated_at) "
                "values (?, ?, ?, 'done', 3, 1.0, 1.0)",
                [job_id, json.dumps(stored), "llm" if stored is REQUEST else ""],
            )

    async def scenario() -> None:
        comparison_id, consistency_id = old_rows
        found = await store.get(comparison_id)
        assert found is not None
        assert (found.kind, found.request, found.resolved) == (COMPARISON, REQUEST, {})
        found = await store.get(consistency_id)
        assert found is not None
        assert (found.kind, found.request, found.resolved) == ("consistency", consistency, {})
        again = JobSpec(COMPARISON, REQUEST, "llm", "v", 3, resolved={"judges": ["llm"]})
        assert await store.submit(again) == (comparison_id, False)
        again = JobSpec("consistency", consistency, "", "d", 3)
        assert await store.submit(again) == (consistency_id, False)
        new = JobSpec(COMPARISON, {**REQUEST, "language": "fi"}, "llm", "v", 3, {"judges": ["llm"]})
        new_id, created = await store.submit(new)
        assert created
        row = json.loads(store._connections.writer.execute(
            "select request from jobs where id = ?", [new_id]).fetchone()[0])  # fmt: skip
        assert row == {"kind": COMPARISON, "request": new.request, "resolved": {"judges": ["llm"]}}

    asyncio.run(scenario())
