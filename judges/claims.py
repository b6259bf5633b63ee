"""Claims on judge calls in the store: two processes sharing a store pay for a call once.

Within a process identical calls share one flight (`common.single_flight`); across processes
a call is claimed first, in the store's SQLite file: a row per judgment key with its owner and
a lease (`lease_s`, renewed while the call runs). A process that finds the key claimed by
another waits for that process's reply to reach the judgment cache, or for the claim to end
(released after the reply is stored, or lapsed: its owner died) and then claims it itself.
An invalid reply is not served from the cache, so a waiter whose claimant got one asks again.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import sqlite_utils

from common.store import DEFAULT_BUSY_TIMEOUT_S, Connections, off_loop, writes

LEASE_S = 20.0  # a dead process's claims lapse this long after their last renewal


class JudgmentClaims:
    """Leases on judgment keys for `owner` (a process), in the SQLite file at `path`."""

    def __init__(
        self,
        path: Path,
        owner: str,
        lease_s: float = LEASE_S,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
    ) -> None:
        self.owner = owner
        self.lease_s = lease_s
        self._connections = Connections(path, busy_timeout_s)
        self._connections.writer["judgment_claims"].create(  # type: ignore[union-attr]
            {"key": str, "owner": str, "expires_at": float}, pk="key", if_not_exists=True
        )

    @writes
    def take(self, key: str) -> bool:
        """Claim `key` (or renew this owner's claim); whether this owner holds it now."""
        now = time.time()

        def write(db: sqlite_utils.Database) -> bool:
            with db.conn:
                db.conn.execute(
                    "insert into judgment_claims values (?, ?, ?) on conflict(key) do update "
                    "set owner = excluded.owner, expires_at = excluded.expires_at "
                    "where judgment_claims.expires_at < ? or judgment_claims.owner = ?",
                    (key, self.owner, now + self.lease_s, now, self.owner),
                )
                row = db.conn.execute(
                    "select owner from judgment_claims where key = ?", (key,)
                ).fetchone()
            return row is not None and row[0] == self.owner

        return self._connections.write(write)

    @writes
    def release(self, key: str) -> None:
        """End this owner's claim on `key`."""

        def write(db: sqlite_utils.Database) -> None:
            with db.conn:
                db.conn.execute(
                    "delete from judgment_claims where key = ? and owner = ?", (key, self.owner)
                )

        self._connections.write(write)

    async def hold(self, key: str) -> None:
        """Renew the claim on `key` until cancelled (run it beside the call)."""
        while True:
            await asyncio.sleep(self.lease_s / 3)
            await off_loop(self.take, key)
