"""Adding a trained adapter to `models.toml`, the file through which training hands adapters
to the generators (training imports nothing of theirs). Formatting and comments are kept.

The entry's `revision` is the first 12 hex digits of the SHA-256 of the adapter's weights:
the generation cache key holds it, so an adapter retrained in place is never answered from
the previous one's stored generations.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError

from common.files import write_text_atomically
from training.errors import RegistryFileError


def weights_revision(adapter: Path) -> str:
    """First 12 hex digits of the SHA-256 of the adapter's weight files."""
    digest = hashlib.sha256()
    files = sorted(adapter.glob("adapter_model.*"))
    if not files:
        raise RegistryFileError(f"{adapter}: no adapter_model.* weights (not a peft adapter)")
    for file in files:
        digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def add_adapter(registry: Path, name: str, adapter: Path) -> bool:
    """Add `name = {path, revision}` under [adapters] (the path relative to the registry when
    inside its folder). False if that exact entry is there already; the same path with other
    weights gets the new revision; an entry with another path is an error."""
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
    revision = weights_revision(adapter)
    adapters = document.get("adapters")
    if adapters is None:
        adapters = tomlkit.table()
        document["adapters"] = adapters
    existing = adapters.get(name)
    if existing is not None:
        current = existing if isinstance(existing, str) else existing.get("path")
        if str(current) != path:
            raise RegistryFileError(
                f"{registry}: adapter {name!r} already points to {current}; choose another name"
            )
        if not isinstance(existing, str) and existing.get("revision") == revision:
            return False
    entry = tomlkit.inline_table()
    entry.update({"path": path, "revision": revision})
    adapters[name] = entry
    write_text_atomically(registry, tomlkit.dumps(document))
    return True
