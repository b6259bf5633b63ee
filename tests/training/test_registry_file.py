"""Adapters handed to the generators through models.toml, with their weights' revision."""

from __future__ import annotations

from pathlib import Path

import pytest

from generators.registry import load_registry
from training.errors import RegistryFileError
from training.registry_file import add_adapter, weights_revision


def test_the_revision_follows_the_weights(tmp_path: Path) -> None:
    registry = tmp_path / "models.toml"
    registry.write_text('base_model = "base"  # kept\n', "utf-8")
    adapter = tmp_path / "runs" / "fi" / "adapter"
    adapter.mkdir(parents=True)
    (adapter / "adapter_model.safetensors").write_bytes(b"first weights")
    assert add_adapter(registry, "fi", adapter)
    assert not add_adapter(registry, "fi", adapter)  # the same weights: nothing to do
    first = load_registry(registry).served("fi")
    assert load_registry(registry).adapters["fi"].revision == weights_revision(adapter)

    (adapter / "adapter_model.safetensors").write_bytes(b"retrained in place")
    assert add_adapter(registry, "fi", adapter)
    second = load_registry(registry).served("fi")
    assert second.identity != first.identity  # stored generations of the old one are not reused
    assert "# kept" in registry.read_text("utf-8")

    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "adapter_model.bin").write_bytes(b"x")
    with pytest.raises(RegistryFileError, match="adapter 'fi' already points to runs/fi/adapter"):
        add_adapter(registry, "fi", other)
    with pytest.raises(RegistryFileError, match="no adapter_model"):
        add_adapter(registry, "es", tmp_path / "runs")
