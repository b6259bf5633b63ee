"""SQLite stores keyed by content: one file, WAL mode, shared safely across processes."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import sqlite_utils


def content_key(*parts: object) -> str:
    """SHA-256 of the JSON of `parts`: equal content, equal key; unambiguous separators."""
    text = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def open_database(path: Path) -> sqlite_utils.Database:
    """The SQLite file at `path` (folders created), in WAL mode with a 10 s busy timeout.

    The connection may be used from another thread than the one that opened it (an app built
    in one thread and served from another), one thread at a time.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    database = sqlite_utils.Database(sqlite3.connect(path, check_same_thread=False))
    database.enable_wal()
    database.execute("PRAGMA synchronous=NORMAL")
    database.execute("PRAGMA busy_timeout=10000")
    return database


def chunks(items: list[str], size: int = 500) -> list[list[str]]:
    """`items` in lists of at most `size` (SQLite limits the parameters of one query)."""
    return [items[start : start + size] for start in range(0, len(items), size)]


class ContentStore:
    """Rows of one table keyed by `key` (a content key), in a SQLite file shared by processes.

    A key already present keeps its first row: what was computed once is never replaced, except
    a row matching `replaceable` (an SQL condition on the stored row, e.g. `verdict is null`
    for a reply that was no verdict), which a later row for the same key replaces.
    """

    def __init__(
        self,
        path: Path,
        table: str,
        columns: dict[str, type],
        not_null: set[str],
        replaceable: str | None = None,
    ) -> None:
        self.path = path
        self._db = open_database(path)
        self._table = table
        schema = {"key": str, **columns, "created_at": float}
        handle = self._db.table(table)
        handle.create(schema, pk="key", not_null={"key", *not_null}, if_not_exists=True)
        existing = handle.columns_dict
        for name, kind in schema.items():
            if name not in existing:  # a store written by an older version
                handle.add_column(name, kind)
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
        found: dict[str, dict[str, Any]] = {}
        for chunk in chunks(list(dict.fromkeys(keys))):
            marks = ",".join("?" * len(chunk))
            query = f"select {selected} from {self._table} where key in ({marks})"
            for row in self._db.query(query, chunk):
                found[row.pop("key")] = row
        return found

    def put_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows (each with its `key`) in one transaction; missing columns are null. A key
        already stored keeps its row unless that row is `replaceable`."""
        if rows:
            now = time.time()
            values = [
                [row.get(name, now if name == "created_at" else None) for name in self._columns]
                for row in rows
            ]
            with self._db.conn:
                self._db.conn.executemany(self._insert, values)

    def count(self) -> int:
        """How many rows are stored."""
        return int(self._db.table(self._table).count)
