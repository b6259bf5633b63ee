"""The judgment cache: every judge call stored in SQLite under a content key.

Key = SHA-256 of (judge identity [backend, model, mode, API], template hash, instruction,
Answer1, Answer2, and the reference for judges that read one). A presentation judged once is
never judged again, in this process or another one sharing the file (WAL mode).

Invalid replies (output that was no verdict) are stored, raw output kept, but are not served
as answers: a later run asks the judge again (a fixed judge server, more parse attempts), and
its reply replaces the invalid one. A valid reply, once stored, is never replaced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from common.store import DEFAULT_BUSY_TIMEOUT_S, ContentStore, content_key, writes
from judges.backends.base import JudgeCall, JudgeReply

_FIELDS = ("raw", "verdict", "score_1", "score_2", "prompt_tokens", "completion_tokens")


def judgment_key(identity: str, template_hash: str, call: JudgeCall, uses_reference: bool) -> str:
    """The content key of one presentation to one judge."""
    parts = [identity, template_hash, call.instruction, call.first, call.second]
    if uses_reference:
        parts.append(call.reference or "")
    return content_key(*parts)


class JudgmentCache:
    """Judge replies by content key, in a SQLite file (created with its folder if absent)."""

    def __init__(self, path: Path, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        self.path = path
        self._store = ContentStore(
            path,
            "judgments",
            {
                "judge": str,
                "template_hash": str,
                "raw": str,
                "verdict": str,
                "score_1": float,
                "score_2": float,
                "prompt_tokens": int,
                "completion_tokens": int,
            },
            not_null={"judge", "template_hash", "raw"},
            replaceable="verdict is null",
            busy_timeout_s=busy_timeout_s,
        )

    def get_many(self, keys: Iterable[str]) -> dict[str, JudgeReply]:
        """The stored valid replies among `keys` (an invalid reply is asked again)."""
        return {
            key: JudgeReply.from_fields(row)
            for key, row in self._store.get_many(keys, _FIELDS).items()
            if row["verdict"] is not None
        }

    @writes
    def put_many(
        self,
        judge: str,
        template_hash: str,
        items: Mapping[str, JudgeReply],
        arrived: Mapping[str, float] | None = None,
    ) -> None:
        """Store replies; a key already present keeps its first valid reply. `arrived`: when
        each reply came (its row's `created_at`, which a plan's time estimate reads; default:
        now)."""
        times = arrived or {}
        self._store.put_many(
            [
                {"key": key, "judge": judge, "template_hash": template_hash}
                | reply.fields()
                | ({"created_at": times[key]} if key in times else {})
                for key, reply in items.items()
            ]
        )

    def count(self) -> int:
        """How many judge replies are stored."""
        return self._store.count()
