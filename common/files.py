"""Files written whole or not at all: a temporary file beside the target, renamed over it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, TextIO


@contextmanager
def atomic_file(path: Path) -> Iterator[TextIO]:
    """A UTF-8 text handle whose content replaces `path` only when the block ends without an
    error (folders created); on an error the temporary file is removed and `path` untouched."""
    with _atomic(path, "w") as handle:
        yield handle


@contextmanager
def atomic_binary_file(path: Path) -> Iterator[BinaryIO]:
    """`atomic_file` for bytes (figures)."""
    with _atomic(path, "wb") as handle:
        yield handle


@contextmanager
def _atomic(path: Path, mode: str) -> Iterator[Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as handle:
            yield handle
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text_atomically(path: Path, text: str) -> None:
    """`path.write_text(text)`, whole or not at all."""
    with atomic_file(path) as handle:
        handle.write(text)
