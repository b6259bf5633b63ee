"""The generation cache: every response stored in SQLite under a content key.

Key = SHA-256 of (model identity [base model, model name, revision], sampling, seed, prompt
format, instruction). A response is generated once; a rerun, or another process sharing the
file, reads it back. This, not the seed, is what makes a comparison reproducible: vLLM's seeded
sampling is not batch-invariant (the same seeded request can decode differently when batched
with others).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from common.store import DEFAULT_BUSY_TIMEOUT_S, ContentStore, writes


@dataclass(frozen=True, slots=True)
class StoredGeneration:
    """A response as stored."""

    text: str
    finish_reason: str | None
    completion_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class GenerationRecord:
    """A response with what it was generated for (stored beside it, for inspection)."""

    key: str
    model: str
    language: str
    item_id: str
    seed: int
    generation: StoredGeneration


class GenerationCache:
    """Responses by content key, in a SQLite file (created with its folder if absent)."""

    def __init__(self, path: Path, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        self.path = path
        self._store = ContentStore(
            path,
            "generations",
            {
                "model": str,
                "language": str,
                "item_id": str,
                "seed": int,
                "text": str,
                "finish_reason": str,
                "completion_tokens": int,
            },
            not_null={"model", "text"},
            busy_timeout_s=busy_timeout_s,
        )

    def get_many(self, keys: Iterable[str]) -> dict[str, StoredGeneration]:
        """The stored responses among `keys`."""
        rows = self._store.get_many(keys, ("text", "finish_reason", "completion_tokens"))
        return {key: StoredGeneration(**row) for key, row in rows.items()}

    @writes
    def put_many(self, records: Iterable[GenerationRecord]) -> None:
        """Store responses; a key already present keeps its first response."""
        self._store.put_many(
            [
                {
                    "key": record.key,
                    "model": record.model,
                    "language": record.language,
                    "item_id": record.item_id,
                    "seed": record.seed,
                    "text": record.generation.text,
                    "finish_reason": record.generation.finish_reason,
                    "completion_tokens": record.generation.completion_tokens,
                }
                for record in records
            ]
        )

    def count(self) -> int:
        """How many responses are stored."""
        return self._store.count()
