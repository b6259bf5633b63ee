"""Files written whole or not at all: a temporary file beside the target, renamed over it.

The file gets the mode any new file gets under the user's umask (0644 under the usual 022;
`mkstemp`'s own 0600 would hide results from other users and containers): the temporary file
is created 0666 and the kernel applies the umask, so the process-wide umask is never touched
(reading it means setting it, a race with other threads creating files). A file it replaces
keeps its mode. The content is fsynced before the rename, and the folder after it.
"""

from __future__ import annotations

import os
import secrets
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
    try:
        permissions: int | None = path.stat().st_mode & 0o7777  # a replaced file keeps its mode
    except FileNotFoundError:
        permissions = None  # created 0666, the kernel applies the umask as to any new file
    fd, temporary = _temporary_beside(path)
    try:
        if permissions is not None:
            os.fchmod(fd, permissions)
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())  # the content is on disk before the name points at it
        os.replace(temporary, path)
        _sync_folder(path.parent)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _temporary_beside(path: Path) -> tuple[int, str]:
    """A new, empty file beside `path` (an unused random name), open for writing."""
    for _ in range(100):
        name = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), str(name)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def _sync_folder(folder: Path) -> None:
    """The rename itself on disk too (where the platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text_atomically(path: Path, text: str) -> None:
    """`path.write_text(text)`, whole or not at all."""
    with atomic_file(path) as handle:
        handle.write(text)
