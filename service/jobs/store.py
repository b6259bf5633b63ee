"""Durable comparison jobs in SQLite: the job, its request, and every finished item.

Job ids are derived from the request's content, so submitting the same request again finds
the same job. Items are written one by one as they finish; a job resumed after a crash skips
them. Generations and judgments live in their own content-keyed caches in the same file.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from common.store import content_key, open_database
from service.jobs.requests import JobStatus

_UNFINISHED = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


@dataclass(frozen=True, slots=True)
class Job:
    """A job as stored."""

    id: str
    request: dict[str, Any]
    judge: str
    status: JobStatus
    total: int
    done: int
    error: str | None
    summary: dict[str, Any] | None
    created_at: float
    updated_at: float


class StoreWriteError(Exception):
    """The store could not be written (a full disk, a broken file); the message says why."""


P = ParamSpec("P")
R = TypeVar("R")


def _write(method: Callable[Concatenate[JobStore, P], R]) -> Callable[Concatenate[JobStore, P], R]:
    """A write of the store: a failure is remembered (`write_error`) and raised as
    `StoreWriteError`; a success forgets the last failure."""

    def writing(store: JobStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = method(store, *args, **kwargs)
        except sqlite3.Error as error:
            store.write_error = f"{type(error).__name__}: {error}"
            raise StoreWriteError(
                f"the job store {store.path} cannot be written ({error})"
            ) from None
        store.write_error = None
        return result

    writing.__doc__ = method.__doc__
    return writing


class JobStore:
    """Jobs and their items in a SQLite file shared with the caches."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.write_error: str | None = None  # the last write's failure, until one succeeds
        self._db = open_database(path)
        self._db.table("jobs").create(
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
            },
            pk="id",
            not_null={"id", "request", "judge", "status", "total"},
            if_not_exists=True,
        )
        self._db.table("job_items").create(
            {"job_id": str, "item_id": str, "position": int, "record": str, "created_at": float},
            pk=("job_id", "item_id"),
            not_null={"job_id", "item_id", "record"},
            if_not_exists=True,
        )

    @staticmethod
    def job_id(request: dict[str, Any], judge: str, template_hash: str) -> str:
        """The id of a request: equal requests (with the same judge and prompt) share it."""
        return content_key(request, judge, template_hash)[:20]

    @_write
    def submit(self, job_id: str, request: dict[str, Any], judge: str, total: int) -> bool:
        """Create the job, or requeue it if it failed or was cancelled. True if created."""
        now = time.time()
        existing = self.get(job_id)
        if existing is None:
            self._db.table("jobs").insert(
                {
                    "id": job_id,
                    "request": json.dumps(request),
                    "judge": judge,
                    "status": JobStatus.QUEUED.value,
                    "total": total,
                    "error": None,
                    "summary": None,
                    "created_at": now,
                    "updated_at": now,
                },
                ignore=True,
            )
            return True
        if existing.status in (JobStatus.FAILED, JobStatus.CANCELLED):
            self.set_status(job_id, JobStatus.QUEUED)
        return False

    def ping(self) -> None:
        """Raise if the database cannot be read."""
        self._db.execute("select count(*) from jobs").fetchone()

    def get(self, job_id: str) -> Job | None:
        """The job, or None."""
        rows = list(self._db.query("select * from jobs where id = ?", [job_id]))
        return self._job(rows[0]) if rows else None

    def unfinished(self) -> list[Job]:
        """Queued and running jobs, oldest first (to resume at start-up)."""
        marks = ",".join("?" * len(_UNFINISHED))
        query = f"select * from jobs where status in ({marks}) order by created_at"
        return [self._job(row) for row in self._db.query(query, list(_UNFINISHED))]

    @_write
    def set_status(
        self,
        job_id: str,
        status: JobStatus,
        error: str | None = None,
        summary: dict[str, Any] | None = None,
    ) -> None:
        """Move a job to `status` (the error and summary are replaced)."""
        self._db.execute(
            "update jobs set status = ?, error = ?, summary = ?, updated_at = ? where id = ?",
            [status.value, error, json.dumps(summary) if summary else None, time.time(), job_id],
        )
        self._db.conn.commit()

    @_write
    def add_item(self, job_id: str, position: int, item_id: str, record: dict[str, Any]) -> None:
        """Store a finished item (an item already stored keeps its first record)."""
        with self._db.conn:
            self._db.execute(
                "insert or ignore into job_items (job_id, item_id, position, record, created_at)"
                " values (?, ?, ?, ?, ?)",
                [job_id, item_id, position, json.dumps(record, ensure_ascii=False), time.time()],
            )
            self._db.execute("update jobs set updated_at = ? where id = ?", [time.time(), job_id])

    def done_ids(self, job_id: str) -> set[str]:
        """The ids of the job's finished items."""
        rows = self._db.query("select item_id from job_items where job_id = ?", [job_id])
        return {row["item_id"] for row in rows}

    def count_items(self, job_id: str) -> int:
        """How many of the job's items are finished."""
        rows = self._db.query("select count(*) as n from job_items where job_id = ?", [job_id])
        return int(next(iter(rows))["n"])

    def items(self, job_id: str, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Finished items in eval-set order, paged."""
        rows = self._db.query(
            "select record from job_items where job_id = ? order by position limit ? offset ?",
            [job_id, -1 if limit is None else limit, offset],
        )
        return [json.loads(row["record"]) for row in rows]

    def _job(self, row: dict[str, Any]) -> Job:
        return Job(
            id=row["id"],
            request=json.loads(row["request"]),
            judge=row["judge"],
            status=JobStatus(row["status"]),
            total=row["total"],
            done=self.count_items(row["id"]),
            error=row["error"],
            summary=json.loads(row["summary"]) if row["summary"] else None,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
