"""From a one-language instruction set to a parallel one: what to translate, and the result.

Input records: `{"id", "instruction", "response"}` with strings, or a parallel record whose
fields map languages to strings (the source language is read from them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from common.errors import InputFileError
from common.jsonl import TextId, read_models
from training.translate import TextToTranslate, Translated

PARTS = ("instruction", "response")


class SourceRecord(BaseModel):
    """One item in the source language (or a parallel record holding it)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: TextId
    instruction: str | dict[str, str]
    response: str | dict[str, str]


@dataclass(frozen=True)
class SourceItem:
    """An item's instruction and response in the source language."""

    id: str
    instruction: str
    response: str


@dataclass(frozen=True)
class FailedItem:
    """An item left out of the parallel set, with every reason."""

    id: str
    problems: list[str]


def read_source(path: Path, source: str) -> list[SourceItem]:
    """The items of `path` in language `source`; ids must be unique."""
    items: list[SourceItem] = []
    seen: set[str] = set()
    for number, record in read_models(path, SourceRecord):
        if record.id in seen:
            raise InputFileError(str(path), number, f"id {record.id!r} repeats")
        seen.add(record.id)
        texts = []
        for part in PARTS:
            value = getattr(record, part)
            if isinstance(value, dict):
                if source not in value:
                    have = ", ".join(sorted(value))
                    raise InputFileError(
                        str(path), number, f"{part} has no {source!r} text (it has: {have})"
                    )
                value = value[source]
            texts.append(value)
        items.append(SourceItem(record.id, texts[0], texts[1]))
    return items


def texts_to_translate(
    items: Sequence[SourceItem], source: str, targets: Sequence[str]
) -> list[TextToTranslate]:
    """Every (item, part, target language) text."""
    return [
        TextToTranslate(item.id, part, source, target, getattr(item, part))
        for item in items
        for target in targets
        for part in PARTS
    ]


def parallel_records(
    items: Sequence[SourceItem], results: Sequence[Translated], source: str
) -> tuple[list[dict[str, object]], list[FailedItem]]:
    """Parallel records of the fully translated items, and the failed items with reasons."""
    done: dict[tuple[str, str, str], str] = {}
    problems: dict[str, list[str]] = {}
    for result in results:
        task = result.task
        if result.text is None:
            problems.setdefault(task.item_id, []).append(
                f"{task.part} into {task.target}: {result.error}"
            )
        else:
            done[(task.item_id, task.part, task.target)] = result.text
    targets = sorted({result.task.target for result in results})
    records: list[dict[str, object]] = []
    for item in items:
        if item.id in problems:
            continue
        record: dict[str, object] = {"id": item.id}
        for part in PARTS:
            texts = {source: getattr(item, part)}
            texts |= {target: done[(item.id, part, target)] for target in targets}
            record[part] = texts
        records.append(record)
    failed = [FailedItem(item.id, problems[item.id]) for item in items if item.id in problems]
    return records, failed
