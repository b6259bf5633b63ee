"""SQLite stores keyed by content: one file, WAL mode, shared safely across processes.

Async code reaches a store through `off_loop`: the SQLite work runs in a worker thread (the
event loop never waits on a disk or on another process's lock), and a file another writer
keeps locked past the busy timeout is tried again for as long as the caller is patient
(`patient_with_store`: a running job waits for minutes; a request answers at once), then
`StoreBusyError`. A store reads and writes through two connections (`Connections`), so that
reads never queue behind a write waiting for a lock.

The worker threads come from three pools, so that work waiting on a locked file cannot take
every thread: a running job's store work (patient: it may wait minutes), a request's writes
(methods marked `@writes`; each waits the busy timeout at most, then 503), and everything
else (reads, `/healthz`), which therefore answers while writes wait.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import os
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import sqlite_utils

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_BUSY_TIMEOUT_S = 10.0
_patience_s: ContextVar[float] = ContextVar("store_patience_s", default=0.0)


class StoreBusyError(Exception):
    """Another connection held the store's write lock for longer than this caller waits."""


class StoreWriteError(Exception):
    """The store could not be written (a full disk, a broken file); the message says why."""


_write_errors: dict[Path, str] = {}  # per store file: the last write's failure, until a success


def write_error(path: Path) -> str | None:
    """Why the last write to the store at `path` failed, in this process (None: it did not, or
    a later write went through)."""
    return _write_errors.get(path.resolve())


def is_busy(error: sqlite3.Error) -> bool:
    """Whether `error` says another connection holds the lock (worth trying again)."""
    code = getattr(error, "sqlite_errorcode", None)
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in str(error)


@contextmanager
def patient_with_store(seconds: float) -> Iterator[None]:
    """Within this context (and the tasks it starts), `off_loop` tries a locked store again
    for up to `seconds` before it gives up."""
    token = _patience_s.set(seconds)
    try:
        yield
    finally:
        _patience_s.reset(token)


_POOL_THREADS = 8
_POOLS = {
    kind: ThreadPoolExecutor(_POOL_THREADS, thread_name_prefix=f"sxs-store-{kind}")
    for kind in ("job", "write", "read")
}
_WRITES = "__sxs_writes__"


def writes(method: Callable[P, R]) -> Callable[P, R]:
    """Mark a store method that writes: `off_loop` runs it apart from reads."""
    setattr(method, _WRITES, True)
    return method


def _pool(call: Callable[..., Any]) -> ThreadPoolExecutor:
    if _patience_s.get() > 0:
        return _POOLS["job"]
    return _POOLS["write" if getattr(call, _WRITES, False) else "read"]


async def off_loop(call: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`call(*args, **kwargs)` in a worker thread of its pool; while the store is locked by
    another writer, again with backoff (0.05 s doubling to 2 s) within the context's
    patience."""
    deadline = time.monotonic() + _patience_s.get()
    delay = 0.05
    loop = asyncio.get_running_loop()
    while True:
        try:
            context = contextvars.copy_context()
            work = partial(context.run, call, *args, **kwargs)
            return await loop.run_in_executor(_pool(call), work)
        except sqlite3.Error as error:
            if not is_busy(error):
                raise
            if time.monotonic() + delay > deadline:
                raise StoreBusyError(
                    f"the store is locked by another connection ({error})"
                ) from None
        await asyncio.sleep(delay)
        delay = min(2 * delay, 2.0)


def process_owner() -> str:
    """A name for this process as the holder of leases in a store: host, pid, and a random
    part (a pid may be reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def content_key(*parts: object) -> str:
    """SHA-256 of the JSON of `parts`: equal content, equal key; unambiguous separators."""
    text = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def open_database(
    path: Path, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S
) -> sqlite_utils.Database:
    """The SQLite file at `path` (folders created), in WAL mode; a write waits up to
    `busy_timeout_s` for another connection's lock.

    The connection may be used from any thread, one thread at a time (the caller's lock).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    database = sqlite_utils.Database(sqlite3.connect(path, check_same_thread=False))
    database.enable_wal()
    database.execute("PRAGMA synchronous=NORMAL")
    database.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
    return database


class Connections:
    """A store's two connections to its file, each used by one thread at a time: `read` (in
    WAL mode a reader never waits for a writer) and `write`."""

    def __init__(self, path: Path, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        self.path = path.resolve()
        self.writer = open_database(path, busy_timeout_s)
        self.reader = open_database(path, busy_timeout_s)
        self._reading = threading.Lock()
        self._writing = threading.Lock()

    def read(self, work: Callable[..., R], *args: Any) -> R:
        """`work(reader, *args)`, alone on the reading connection."""
        with self._reading:
            return work(self.reader, *args)

    @writes
    def write(self, work: Callable[..., R], *args: Any) -> R:
        """`work(writer, *args)`, alone on the writing connection. A failure other than a lock
        (a full disk, a read-only or broken file) is `StoreWriteError`, remembered for the
        health check (`write_error`) until a write succeeds; a lock is left to `off_loop`."""
        with self._writing:
            try:
                result = work(self.writer, *args)
            except sqlite3.Error as error:
                if is_busy(error):
                    raise
                reason = f"{type(error).__name__}: {error}"
                _write_errors[self.path] = reason
                raise StoreWriteError(
                    f"the store {self.path} cannot be written ({error})"
                ) from None
            _write_errors.pop(self.path, None)
            return result


def chunks(items: list[str], size: int = 500) -> list[list[str]]:
    """`items` in lists of at most `size` (SQLite limits the parameters of one query)."""
    return [items[start : start + size] for start in range(0, len(items), size)]


class ContentStore:
    """Rows of one table keyed by `key` (a content key), in a SQLite file shared by processes.

    A key already present keeps its first row: what was computed once is never replaced, except
    a row matching `replaceable` (an SQL condition on the stored row, e.g. `verdict is null`
    for a reply that was no verdict), which a later row for the same key replaces. Its methods
    may be called from any thread (from async code: through `off_loop`).
    """

    def __init__(
        self,
        path: Path,
        table: str,
        columns: dict[str, type],
        not_null: set[str],
        replaceable: str | None = None,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
    ) -> None:
        self.path = path
        self._connections = Connections(path, busy_timeout_s)
        self._table = table
        schema = {"key": str, **columns, "created_at": float}
        handle = self._connections.writer.table(table)
        handle.create(schema, pk="key", not_null={"key", *not_null}, if_not_exists=True)
        existing = handle.columns_dict
        for name, kind in schema.items():
            if name not in existing:  # a store written by an older version
                handle.add_column(name, kind)
        handle.create_index(["created_at"], if_not_exists=True)  # a plan's newest rows
        self._columns = list(schema)
        names = ", ".join(self._columns)
        marks = ", ".join("?" * len(self._columns))
        if replaceable is None:
            self._insert = f"insert or ignore into {table} ({names}) values ({marks})"
        else:
            updates = ", ".join(f"{name} = excluded.{name}" for name in self._columns[1:])
            self._insert = (
                f"insert into {table} ({names}) values ({marks}) "
                f"on conflict(key) do update set {updates} where {table}.{replaceable}"
            )

    def get_many(self, keys: Iterable[str], fields: Sequence[str]) -> dict[str, dict[str, Any]]:
        """`fields` of the stored rows among `keys`, by key."""
        selected = ", ".join(["key", *fields])
        wanted = list(dict.fromkeys(keys))

        def read(db: sqlite_utils.Database) -> dict[str, dict[str, Any]]:
            found: dict[str, dict[str, Any]] = {}
            for chunk in chunks(wanted):
                marks = ",".join("?" * len(chunk))
                query = f"select {selected} from {self._table} where key in ({marks})"
                for row in db.query(query, chunk):
                    found[row.pop("key")] = row
            return found

        return self._connections.read(read)

    @writes
    def put_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows (each with its `key`) in one transaction; missing columns are null. A key
        already stored keeps its row unless that row is `replaceable`."""
        if rows:
            now = time.time()
            values = [
                [row.get(name, now if name == "created_at" else None) for name in self._columns]
                for row in rows
            ]
            self._connections.write(self._insert_all, values)

    def count(self) -> int:
        """How many rows are stored."""
        return self._connections.read(lambda db: int(db.table(self._table).count))

    def _insert_all(self, db: sqlite_utils.Database, values: list[list[Any]]) -> None:
        with db.conn:
            db.conn.executemany(self._insert, values)
