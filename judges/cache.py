"""The judgment cache: every judge call stored in SQLite under a content key.

Key = SHA-256 of (judge identity [backend, model, mode, API], template hash, instruction,
Answer1, Answer2, and the reference for judges that read one). A presentation judged once is
never judged again, in this process or another one sharing the file (WAL mode).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from common.store import chunks, content_key, open_database
from judges.backends.base import JudgeCall, JudgeReply
from judges.verdicts import Verdict

_TABLE = "judgments"


def judgment_key(identity: str, template_hash: str, call: JudgeCall, uses_reference: bool) -> str:
    """The content key of one presentation to one judge."""
    parts = [identity, template_hash, call.instruction, call.first, call.second]
    if uses_reference:
        parts.append(call.reference or "")
    return content_key(*parts)


class JudgmentCache:
    """Judge replies by content key, in a SQLite file (created with its folder if absent)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = open_database(path)
        self._db.table(_TABLE).create(
            {
                "key": str,
                "judge": str,
                "template_hash": str,
                "raw": str,
                "verdict": str,
                "score_1": float,
                "score_2": float,
                "created_at": float,
            },
            pk="key",
            not_null={"key", "judge", "template_hash", "raw"},
            if_not_exists=True,
        )

    def get_many(self, keys: Iterable[str]) -> dict[str, JudgeReply]:
        """The stored replies among `keys`."""
        found: dict[str, JudgeReply] = {}
        for chunk in chunks(list(dict.fromkeys(keys))):
            marks = ",".join("?" * len(chunk))
            rows = self._db.query(
                f"select key, raw, verdict, score_1, score_2 from {_TABLE} where key in ({marks})",
                chunk,
            )
            for row in rows:
                verdict = Verdict(row["verdict"]) if row["verdict"] is not None else None
                found[row["key"]] = JudgeReply(
                    raw=row["raw"], verdict=verdict, score_1=row["score_1"], score_2=row["score_2"]
                )
        return found

    def put_many(self, judge: str, template_hash: str, items: Mapping[str, JudgeReply]) -> None:
        """Store replies; a key already present keeps its first reply."""
        now = time.time()
        rows: Sequence[dict[str, object]] = [
            {
                "key": key,
                "judge": judge,
                "template_hash": template_hash,
                "raw": reply.raw,
                "verdict": reply.verdict.value if reply.verdict is not None else None,
                "score_1": reply.score_1,
                "score_2": reply.score_2,
                "created_at": now,
            }
            for key, reply in items.items()
        ]
        if rows:
            self._db.table(_TABLE).insert_all(rows, ignore=True, batch_size=500, alter=True)

    def count(self) -> int:
        """How many judge replies are stored."""
        return int(self._db.table(_TABLE).count)

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()
