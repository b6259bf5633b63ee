"""Parallel instruction sets: one item id, its instruction and response in every language.

    {"id": "17", "instruction": {"en": "…", "fi": "…"}, "response": {"en": "…", "fi": "…"}}

Sources: a JSONL file, a Parquet file with the same columns (instruction and response as
maps or structs), or a `datasets` name (`hf:owner/name` or `hf:owner/name:split`, read through
the `datasets` library where a network or its cache has it). Every record must hold the same
languages; a record missing one is an error naming the id and the language.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from common.errors import InputFileError
from common.jsonl import TextId, read_models, validate_rows


class ParallelRecord(BaseModel):
    """One example in every language of the set."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: TextId
    instruction: dict[str, str] = Field(min_length=1)
    response: dict[str, str] = Field(min_length=1)

    @model_validator(mode="after")
    def _aligned(self) -> ParallelRecord:
        if set(self.instruction) != set(self.response):
            odd = sorted(set(self.instruction) ^ set(self.response))
            raise ValueError(f"instruction and response languages differ ({', '.join(odd)})")
        return self


@dataclass(frozen=True)
class ParallelSet:
    """Aligned records and the languages all of them have."""

    records: list[ParallelRecord]
    languages: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.records)


def load_parallel(source: str | Path) -> ParallelSet:
    """A parallel set from a JSONL or Parquet file, or `hf:NAME[:SPLIT]` through `datasets`."""
    text = str(source)
    if text.startswith("hf:"):
        name, _, split = text.removeprefix("hf:").partition(":")
        return _aligned(text, validate_rows(text, _hub_rows(text, name, split), ParallelRecord))
    path = Path(source)
    if path.suffix == ".parquet":
        return _aligned(text, validate_rows(text, _parquet_rows(path), ParallelRecord))
    return read_parallel(path)


def read_parallel(path: Path) -> ParallelSet:
    """A parallel JSONL file, checked for unique ids and aligned languages."""
    return _aligned(str(path), read_models(path, ParallelRecord))


def _aligned(source: str, rows: list[tuple[int, ParallelRecord]]) -> ParallelSet:
    expected = set(rows[0][1].instruction)
    seen: dict[str, int] = {}
    for number, record in rows:
        if record.id in seen:
            raise InputFileError(
                source, number, f"id {record.id!r} repeats record {seen[record.id]}"
            )
        seen[record.id] = number
        have = set(record.instruction)
        if have != expected:
            odd = sorted(expected - have) or sorted(have - expected)
            state = "missing" if expected - have else "extra"
            first = ", ".join(sorted(expected))
            problem = f"id {record.id!r} is not aligned: language {odd[0]!r} is {state} "
            raise InputFileError(source, number, problem + f"(the first record has {first})")
    return ParallelSet([record for _, record in rows], tuple(sorted(expected)))


def _parquet_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """Rows of a Parquet file, numbered from 1."""
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise InputFileError(str(path), None, _NEEDS_DATASETS) from None
    try:
        table = parquet.read_table(path)
    except (OSError, ValueError) as error:
        raise InputFileError(str(path), None, f"not a readable Parquet file ({error})") from None
    for number, row in enumerate(table.to_pylist(), start=1):
        yield number, {key: _as_dict(value) for key, value in row.items()}


def _hub_rows(source: str, name: str, split: str) -> Iterator[tuple[int, Any]]:
    try:
        import datasets
    except ImportError:
        raise InputFileError(source, None, _NEEDS_DATASETS) from None
    try:
        dataset = datasets.load_dataset(name, split=split or "train")
    except Exception as error:  # the library raises many kinds; all mean "not loadable"
        reason = f"{type(error).__name__}: {error}"
        raise InputFileError(source, None, f"datasets cannot load it ({reason})") from None
    for number, row in enumerate(dataset, start=1):
        yield number, {key: _as_dict(value) for key, value in dict(row).items()}


def _as_dict(value: Any) -> Any:
    """Map columns come as (key, value) pairs; struct columns give None for a missing key."""
    if (
        isinstance(value, list)
        and value
        and all(isinstance(pair, tuple) and len(pair) == 2 for pair in value)
    ):
        value = dict(value)
    if isinstance(value, dict):
        return {key: text for key, text in value.items() if text is not None}
    return value


_NEEDS_DATASETS = "reading Parquet or hub data needs the train extra: pip install 'sxs-eval[train]'"
