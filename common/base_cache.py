"""Where a GGUF base model's converted HF folder lives, keyed by the file's content.

`training.base_models` writes the folder; the registry (`generators.registry`) finds it for a
`base_model` that names a .gguf file. The file is hashed once per process (by path, size and
modification time), so asking again is free.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from common.paths import sxs_cache

CONVERTER_VERSION = "1"  # part of the folder's key: bump when the conversion changes
GGUF_SUFFIX = ".gguf"
MARKER = "sxs-base.json"  # written last: a folder without it is not a finished conversion


def file_sha256(path: Path) -> str:
    """The file's sha256, hex."""
    stat = path.stat()
    return _sha256(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=16)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def converted_folder(sha256: str, cache: Path | None = None) -> Path:
    """Where the HF folder of the GGUF file with this content lives."""
    return (cache or sxs_cache()) / "bases" / f"{sha256[:16]}-v{CONVERTER_VERSION}"


def is_gguf(path: Path) -> bool:
    return path.suffix.lower() == GGUF_SUFFIX


def is_converted(folder: Path) -> bool:
    return (folder / MARKER).is_file()
