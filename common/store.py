"""SQLite stores keyed by content: one file, WAL mode, shared safely across processes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import sqlite_utils


def content_key(*parts: object) -> str:
    """SHA-256 of the JSON of `parts`: equal content, equal key; unambiguous separators."""
    text = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def open_database(path: Path) -> sqlite_utils.Database:
    """The SQLite file at `path` (folders created), in WAL mode with a 10 s busy timeout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    database = sqlite_utils.Database(path)
    database.enable_wal()
    database.execute("PRAGMA synchronous=NORMAL")
    database.execute("PRAGMA busy_timeout=10000")
    return database


def chunks(items: list[str], size: int = 500) -> list[list[str]]:
    """`items` in lists of at most `size` (SQLite limits the parameters of one query)."""
    return [items[start : start + size] for start in range(0, len(items), size)]
