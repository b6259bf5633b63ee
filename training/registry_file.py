"""Adding a trained adapter to `models.toml`, the file through which training hands adapters
to the generators (training imports nothing of theirs). Formatting and comments are kept."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError


class RegistryFileError(Exception):
    """The registry cannot be read or would get a conflicting entry."""


def add_adapter(registry: Path, name: str, adapter: Path) -> bool:
    """Add `name = "adapter"` under [adapters] (relative to the registry when inside its
    folder). False if that exact entry is there already; an entry with another path is an
    error."""
    try:
        document = tomlkit.parse(registry.read_text(encoding="utf-8"))
    except OSError as error:
        raise RegistryFileError(f"{registry}: cannot read: {error.strerror}") from None
    except TOMLKitError as error:
        raise RegistryFileError(f"{registry}: not valid TOML: {error}") from None
    try:
        path = str(adapter.resolve().relative_to(registry.parent.resolve()))
    except ValueError:
        path = str(adapter.resolve())
    adapters = document.get("adapters")
    if adapters is None:
        adapters = tomlkit.table()
        document["adapters"] = adapters
    existing = adapters.get(name)
    if existing is not None:
        current = existing if isinstance(existing, str) else existing.get("path")
        if str(current) == path:
            return False
        raise RegistryFileError(
            f"{registry}: adapter {name!r} already points to {current}; choose another name"
        )
    adapters[name] = path
    handle, temporary = tempfile.mkstemp(dir=registry.parent, prefix=f".{registry.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(tomlkit.dumps(document))
    os.replace(temporary, registry)
    return True
