"""Reading and writing JSONL files: validated line by line, written atomically."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ValidationError

from common.errors import InputFileError, first_problem
from common.files import atomic_file

M = TypeVar("M", bound=BaseModel)


def number_as_text(value: object) -> object:
    """An integer read from JSON as its text (7 → "7"); booleans and the rest unchanged."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


# an item id in a JSONL record: text, or an integer taken as its text
TextId = Annotated[str, BeforeValidator(number_as_text)]


def read_models(path: Path, model: type[M]) -> list[tuple[int, M]]:
    """Every non-blank line of `path` validated as `model`, with its 1-based line number.

    Raises `InputFileError` naming the file, the line and the field at the first bad line.
    """
    try:
        handle = path.open(encoding="utf-8")
    except OSError as error:
        raise InputFileError(str(path), None, f"cannot open: {error.strerror}") from None
    with handle:
        return validate_rows(str(path), _json_lines(str(path), handle), model)


def validate_rows(
    source: str, rows: Iterable[tuple[int, Any]], model: type[M]
) -> list[tuple[int, M]]:
    """Numbered raw rows validated as `model`; errors name `source`, the number and the field."""
    checked: list[tuple[int, M]] = []
    for number, data in rows:
        if not isinstance(data, dict):
            raise InputFileError(source, number, "expected a JSON object")
        try:
            checked.append((number, model.model_validate(data)))
        except ValidationError as error:
            raise InputFileError(source, number, _first_problem(error)) from None
    if not checked:
        raise InputFileError(source, None, "the file holds no records")
    return checked


def _json_lines(source: str, lines: Iterable[str]) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as error:
            document = number == 1 and line.strip() in ("{", "[")
            hint = ": the file looks like one JSON document; JSON Lines has a record a line"
            raise InputFileError(
                source, number, f"not valid JSON ({error.msg}){hint if document else ''}"
            ) from None


def _first_problem(error: ValidationError) -> str:
    field, message = first_problem(error, "record")
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"field {field!r}: {message}{more}"


def write_records(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Write `records` as JSONL to `path` atomically (a temporary file, then a rename)."""
    count = 0
    with atomic_file(path) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count
