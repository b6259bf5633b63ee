"""Atomically written files get the modes the user's umask gives any new file."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from common.files import atomic_binary_file, write_text_atomically


@contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_a_new_file_gets_the_umask_mode(tmp_path: Path, mask: int, expected: int) -> None:
    with umask(mask):
        write_text_atomically(tmp_path / "matrix.md", "| a |\n")
        with atomic_binary_file(tmp_path / "heatmap.png") as handle:
            handle.write(b"\x89PNG")
        plain = tmp_path / "plain.txt"
        plain.write_text("as open() makes it")
    assert mode(tmp_path / "matrix.md") == mode(tmp_path / "heatmap.png") == expected
    assert mode(plain) == expected  # the oracle: what Python's own open() does


def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text("old")
    path.chmod(0o640)
    with umask(0o022):
        write_text_atomically(path, "new")
    assert path.read_text() == "new" and mode(path) == 0o640


def test_the_process_umask_is_never_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the umask means setting it, a race with threads creating files: not done."""

    def refuse(mask: int) -> int:
        raise AssertionError("os.umask called")

    monkeypatch.setattr(os, "umask", refuse)
    write_text_atomically(tmp_path / "matrix.md", "| a |\n")
    assert (tmp_path / "matrix.md").read_text() == "| a |\n"


def test_the_content_is_on_disk_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(source: str, target: Path) -> None:
        events.append("replace")
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_text_atomically(tmp_path / "matrix.json", "{}")
    assert events == ["fsync file", "replace", "fsync folder"]
    assert not list(tmp_path.glob(".*.tmp"))
