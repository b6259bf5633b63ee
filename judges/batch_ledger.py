"""The batch ledger: which judge batches were created, for which requests, and how they ended.

Two tables in the store's SQLite file. `judge_batches` holds one row per batch created at a
provider (its id, the endpoint and judge it was made for, its last known status and files);
`judge_batch_rows` says which request (by `custom_id`, the content key of the request body)
went into which batch. A batch id is written before the run waits on it, so a run that is
interrupted and started again finds the batch and polls it instead of paying for the same
calls again; the number of batches a request went into is how often it was tried (kept here,
so a restart grants no new tries).

Before a batch is created its intent is written (`intend`: a row of status `creating` under an
intent id that goes into the batch's metadata); `record` turns it into the created batch. An
intent left behind (a kill between the provider's answer and `record`) is looked up at the
provider by its tag and then recorded or dropped (`drop`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from common.store import DEFAULT_BUSY_TIMEOUT_S, Connections, chunks, writes

CREATING = "creating"  # the status of an intent: a batch about to be created


@dataclass(frozen=True, slots=True)
class LedgerBatch:
    """A batch as last seen: its id, status and result files (None until there are some)."""

    id: str
    status: str
    output_file_id: str | None = None
    error_file_id: str | None = None


class BatchLedger:
    """Batches and their requests, in the SQLite file at `path` (shared with the caches)."""

    def __init__(self, path: Path, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        self._connections = Connections(path, busy_timeout_s)
        db = self._connections.writer
        db["judge_batches"].create(  # type: ignore[union-attr]
            {"id": str, "endpoint": str, "judge": str, "status": str, "output_file_id": str,
             "error_file_id": str, "rows": int, "created_at": float, "updated_at": float},
            pk="id", if_not_exists=True,
        )  # fmt: skip
        db["judge_batch_rows"].create(  # type: ignore[union-attr]
            {"custom_id": str, "batch_id": str},
            pk=("custom_id", "batch_id"),
            if_not_exists=True,
        )
        db["judge_batch_rows"].create_index(["custom_id"], if_not_exists=True)  # type: ignore[union-attr]

    @writes
    def intend(self, intent: str, endpoint: str, judge: str, custom_ids: list[str]) -> None:
        """A batch about to be created at `endpoint` for `judge`, under the id `intent`."""
        now = time.time()

        def write(db: sqlite_utils.Database) -> None:
            with db.conn:
                db.conn.execute(
                    "insert into judge_batches values (?, ?, ?, ?, null, null, ?, ?, ?)",
                    (intent, endpoint, judge, CREATING, len(custom_ids), now, now),
                )
                db.conn.executemany(
                    "insert or ignore into judge_batch_rows values (?, ?)",
                    [(custom_id, intent) for custom_id in custom_ids],
                )

        self._connections.write(write)

    @writes
    def record(self, batch: LedgerBatch, intent: str) -> None:
        """The batch created for `intent` (its requests are the intent's)."""

        def write(db: sqlite_utils.Database) -> None:
            with db.conn:
                db.conn.execute(
                    "update judge_batches set id = ?, status = ?, output_file_id = ?, "
                    "error_file_id = ?, updated_at = ? where id = ?",
                    (batch.id, batch.status, batch.output_file_id, batch.error_file_id,
                     time.time(), intent),
                )  # fmt: skip
                db.conn.execute(
                    "update judge_batch_rows set batch_id = ? where batch_id = ?",
                    (batch.id, intent),
                )

        self._connections.write(write)

    @writes
    def drop(self, intent: str) -> None:
        """An intent whose batch was never created."""

        def write(db: sqlite_utils.Database) -> None:
            with db.conn:
                db.conn.execute("delete from judge_batch_rows where batch_id = ?", (intent,))
                db.conn.execute("delete from judge_batches where id = ?", (intent,))

        self._connections.write(write)

    @writes
    def update(self, batch: LedgerBatch) -> None:
        """A batch's new status and files."""

        def write(db: sqlite_utils.Database) -> None:
            with db.conn:
                db.conn.execute(
                    "update judge_batches set status = ?, output_file_id = ?, error_file_id = ?, "
                    "updated_at = ? where id = ?",
                    (batch.status, batch.output_file_id, batch.error_file_id, time.time(),
                     batch.id),
                )  # fmt: skip

        self._connections.write(write)

    def batches_of(self, custom_ids: Iterable[str], endpoint: str) -> dict[str, list[LedgerBatch]]:
        """For each request among `custom_ids` that went into batches at `endpoint`: those
        batches, oldest first (an intent not yet created among them, status `CREATING`)."""
        wanted = list(dict.fromkeys(custom_ids))

        def read(db: sqlite_utils.Database) -> dict[str, list[LedgerBatch]]:
            found: dict[str, list[LedgerBatch]] = {}
            for chunk in chunks(wanted):
                marks = ",".join("?" * len(chunk))
                query = (
                    "select r.custom_id, b.id, b.status, b.output_file_id, b.error_file_id "
                    "from judge_batch_rows r join judge_batches b on b.id = r.batch_id "
                    f"where b.endpoint = ? and r.custom_id in ({marks}) "
                    "order by b.created_at, b.rowid"
                )
                for custom_id, *batch in db.execute(query, [endpoint, *chunk]).fetchall():
                    found.setdefault(custom_id, []).append(LedgerBatch(*batch))
            return found

        return self._connections.read(read)

    def count(self, endpoint: str | None = None) -> int:
        """How many batches were created (at `endpoint`, when given); intents not counted."""

        def read(db: sqlite_utils.Database) -> int:
            query = "select count(*) from judge_batches where status != ?"
            if endpoint is None:
                return int(db.execute(query, [CREATING]).fetchone()[0])
            return int(db.execute(query + " and endpoint = ?", [CREATING, endpoint]).fetchone()[0])

        return self._connections.read(read)
