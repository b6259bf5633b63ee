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
