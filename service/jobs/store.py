"""Durable jobs in SQLite: the job, its request, its owner, and every finished item.

Job ids are derived from the request's content, so submitting the same request again finds
the same job. Items are written one by one as they finish; a job resumed after a crash skips
them. Generations and judgments live in their own content-keyed caches in the same file.

Several processes may share the file. A job runs in one of them at a time: the one holding
its lease (`take`), which renews it while the job runs; another takes the job over only once
the lease has lapsed (its owner died). Finishing needs the lease, so a job cancelled through
any process stays cancelled. Every method is a coroutine whose SQLite work runs in a worker
thread (`common.store.off_loop`), so a slow disk or another process's lock never stalls the
event loop.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from common.store import (
    DEFAULT_BUSY_TIMEOUT_S,
    Connections,
    StoreBusyError,
    content_key,
    off_loop,
    write_error,
)
from service.jobs.envelope import JobSpec, unwrap
from service.jobs.requests import JobStatus

_UNFINISHED = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
_IS_UNFINISHED = f"status in ({', '.join(repr(status) for status in _UNFINISHED)})"
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Job:
    """A job as stored, its envelope opened; `owner` runs it while `lease_until` is ahead."""

    id: str
    kind: str
    request: dict[str, Any]
    resolved: dict[str, Any]
    judge: str
    status: JobStatus
    total: int
    done: int
    error: str | None
    summary: dict[str, Any] | None
    created_at: float
    updated_at: float
    owner: str | None = None
    lease_until: float | None = None

    def leased_elsewhere(self, owner: str, now: float) -> float:
        """Seconds until another process's lease on the job lapses (0: none holds it)."""
        if self.owner in (None, owner) or self.lease_until is None:
            return 0.0
        return max(0.0, self.lease_until - now)


class JobStore:
    """Jobs and their items in a SQLite file shared with the caches (and other processes)."""

    def __init__(self, path: Path, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        self.path = path
        self.busy: str | None = None  # the last write found the file locked, until one succeeds
        self._connections = Connections(path, busy_timeout_s)
        self._db = self._connections.writer
        jobs = self._db.table("jobs")
        jobs.create(
            {
                "id": str,
                "request": str,
                "judge": str,
                "status": str,
                "total": int,
                "error": str,
                "summary": str,
                "created_at": float,
                "updated_at": float,
                "owner": str,
                "lease_until": float,
            },
            pk="id",
            not_null={"id", "request", "judge", "status", "total"},
            if_not_exists=True,
        )
        for name, kind in (("owner", str), ("lease_until", float)):
            if name not in jobs.columns_dict:  # a store written by an older version
                jobs.add_column(name, kind)
        self._db.table("job_items").create(
            {"job_id": str, "item_id": str, "position": int, "record": str, "created_at": float},
            pk=("job_id", "item_id"),
            not_null={"job_id", "item_id", "record"},
            if_not_exists=True,
        )

    @staticmethod
    def job_id(spec: JobSpec) -> str:
        """The id of a job: equal requests of a kind with the same judge and version (the
        prompt, the eval set's content) share it."""
        return content_key(spec.identity(), spec.judge, spec.version)[:20]

    async def submit(self, spec: JobSpec) -> tuple[str, bool]:
        """Create the job, or requeue it if it failed or was cancelled; its id and whether it
        was created."""
        job_id = self.job_id(spec)
        return job_id, await self._write(self._submit, job_id, spec)

    async def ping(self) -> None:
        """Raise if the database cannot be read."""
        await self._read(lambda db: db.execute("select 1 from jobs limit 1").fetchall())

    async def get(self, job_id: str) -> Job | None:
        """The job, or None."""
        return await self._read(self._get, job_id)

    async def unfinished(self) -> list[Job]:
        """Queued and running jobs, oldest first (to resume at start-up)."""
        query = f"select * from jobs where {_IS_UNFINISHED} order by created_at"
        return await self._read(lambda db: [_job(db, row) for row in db.query(query)])

    async def take(self, job_id: str, owner: str, lease_s: float) -> bool:
        """Mark the unfinished job running under `owner`'s lease for `lease_s`, unless another
        owner's lease on it is still ahead; whether `owner` holds it now."""
        now = time.time()
        return await self._change(
            "update jobs set status = ?, owner = ?, lease_until = ?, updated_at = ? "
            f"where id = ? and {_IS_UNFINISHED} "
            "and (owner is null or owner = ? or lease_until is null or lease_until < ?)",
            [JobStatus.RUNNING.value, owner, now + lease_s, now, job_id, owner, now],
        )

    async def renew(self, job_id: str, owner: str, lease_s: float) -> bool:
        """Extend `owner`'s lease on the running job; False once it is no longer `owner`'s to
        run (cancelled, or taken over after the lease lapsed)."""
        return await self._change(
            "update jobs set lease_until = ? where id = ? and owner = ? and status = ?",
            [time.time() + lease_s, job_id, owner, JobStatus.RUNNING.value],
        )

    async def release(self, job_id: str, owner: str) -> None:
        """Give up `owner`'s lease, leaving the job unfinished for whoever runs it next."""
        await self._change(
            "update jobs set owner = null, lease_until = null where id = ? and owner = ?",
            [job_id, owner],
        )

    async def finish(
        self,
        job_id: str,
        owner: str,
        status: JobStatus,
        error: str | None = None,
        summary: dict[str, Any] | None = None,
    ) -> bool:
        """End the job `owner` runs with `status` (its lease is released); False if the job was
        no longer `owner`'s (cancelled or taken over meanwhile): nothing is written then."""
        return await self._change(
            "update jobs set status = ?, error = ?, summary = ?, updated_at = ?, owner = null, "
            "lease_until = null where id = ? and owner = ?",
            [status.value, error, _json(summary), time.time(), job_id, owner],
        )

    async def cancel(self, job_id: str) -> bool:
        """Cancel the job if it is unfinished, whoever runs it (its owner sees it at its next
        renewal and stops); whether it was unfinished."""
        return await self._change(
            "update jobs set status = ?, owner = null, lease_until = null, updated_at = ? "
            f"where id = ? and {_IS_UNFINISHED}",
            [JobStatus.CANCELLED.value, time.time(), job_id],
        )

    async def add_item(
        self, job_id: str, position: int, item_id: str, record: dict[str, Any]
    ) -> None:
        """Store a finished item (an item already stored keeps its first record)."""
        await self._write(self._add_item, job_id, position, item_id, record)

    async def done_ids(self, job_id: str) -> set[str]:
        """The ids of the job's finished items."""
        query = "select item_id from job_items where job_id = ?"
        return await self._read(lambda db: {row["item_id"] for row in db.query(query, [job_id])})

    async def count_items(self, job_id: str) -> int:
        """How many of the job's items are finished."""
        return await self._read(_count_items, job_id)

    async def items(
        self, job_id: str, offset: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Finished items in eval-set order, paged."""
        query = "select record from job_items where job_id = ? order by position limit ? offset ?"
        arguments = [job_id, -1 if limit is None else limit, offset]
        return await self._read(
            lambda db: [json.loads(row["record"]) for row in db.query(query, arguments)]
        )

    async def _read(self, query: Callable[..., R], *args: Any) -> R:
        """`query(reading connection, *args)` off the loop."""
        return await off_loop(self._connections.read, query, *args)

    @property
    def write_error(self) -> str | None:
        """Why the last write to this store's file failed, in this process (any writer: jobs,
        caches, ledger), until a write succeeds."""
        return write_error(self.path)

    async def _write(self, change: Callable[..., R], *args: Any) -> R:
        """A write: a locked file is `StoreBusyError` (remembered in `busy` until a write
        goes through), any other failure `StoreWriteError`."""
        try:
            result = await off_loop(self._connections.write, change, *args)
        except StoreBusyError as error:
            self.busy = str(error)
            raise
        self.busy = None
        return result

    async def _change(self, statement: str, arguments: list[Any]) -> bool:
        """One UPDATE in its own transaction; whether it changed a row."""

        def run(db: Database) -> bool:
            with db.conn:
                return bool(db.conn.execute(statement, arguments).rowcount > 0)

        return await self._write(run)

    @staticmethod
    def _submit(db: Database, job_id: str, spec: JobSpec) -> bool:
        now, queued = time.time(), JobStatus.QUEUED.value
        row = [job_id, json.dumps(spec.envelope()), spec.judge, queued, spec.total, now, now]
        ended = [JobStatus.FAILED.value, JobStatus.CANCELLED.value]
        with db.conn:
            created = db.conn.execute(
                "insert or ignore into jobs (id, request, judge, status, total, created_at, "
                "updated_at) values (?, ?, ?, ?, ?, ?, ?)",
                row,
            ).rowcount
            if not created:  # a failed or cancelled job runs again
                db.conn.execute(
                    "update jobs set status = ?, error = null, summary = null, owner = null, "
                    "lease_until = null, updated_at = ? where id = ? and status in (?, ?)",
                    [queued, now, job_id, *ended],
                )
        return created > 0

    @staticmethod
    def _get(db: Database, job_id: str) -> Job | None:
        rows = list(db.query("select * from jobs where id = ?", [job_id]))
        return _job(db, rows[0]) if rows else None

    @staticmethod
    def _add_item(
        db: Database, job_id: str, position: int, item_id: str, record: dict[str, Any]
    ) -> None:
        now = time.time()
        with db.conn:
            db.execute(
                "insert or ignore into job_items (job_id, item_id, position, record, created_at)"
                " values (?, ?, ?, ?, ?)",
                [job_id, item_id, position, json.dumps(record, ensure_ascii=False), now],
            )
            db.execute("update jobs set updated_at = ? where id = ?", [now, job_id])


def _count_items(db: Database, job_id: str) -> int:
    rows = db.query("select count(*) as n from job_items where job_id = ?", [job_id])
    return int(next(iter(rows))["n"])


def _job(db: Database, row: dict[str, Any]) -> Job:
    kind, request, resolved = unwrap(json.loads(row["request"]))
    return Job(
        id=row["id"],
        kind=kind,
        request=request,
        resolved=resolved,
        judge=row["judge"],
        status=JobStatus(row["status"]),
        total=row["total"],
        done=_count_items(db, row["id"]),
        error=row["error"],
        summary=json.loads(row["summary"]) if row["summary"] else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        owner=row["owner"],
        lease_until=row["lease_until"],
    )


def _json(value: dict[str, Any] | None) -> str | None:
    return json.dumps(value) if value else None
