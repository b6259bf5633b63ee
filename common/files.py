"""Files written whole or not at all: a temporary file beside the target, renamed over it.

The file gets the mode any new file gets under the user's umask (0644 under the usual 022;
`mkstemp`'s own 0600 would hide results from other users and containers), or, when it
replaces a file, that file's mode.
"""

from __future__ import annotations

import os
import tempfile
import threading
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


_UMASK_LOCK = threading.Lock()


def new_file_mode() -> int:
    """The permission bits `open(path, "w")` gives a new file under the current umask."""
    with _UMASK_LOCK:  # the umask can only be read by setting it
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def _atomic(path: Path, mode: str) -> Iterator[Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        permissions = path.stat().st_mode & 0o7777  # a replaced file keeps its mode
    except FileNotFoundError:
        permissions = new_file_mode()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, permissions)
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
