"""`sxs base gemma | convert`: a pretrained base model from a GGUF file, as the HF folder that
training, vLLM and the judge read (converted once, keyed by the file's content)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from common.base_cache import is_converted
from generators.registry import Registry
from training.base_models import GEMMA_TERMS, ConvertedBase, convert_gguf, gemma_base

base_app = typer.Typer(
    help="Pretrained base models from GGUF files (the packaged Gemma 3 270M, or your own).",
    no_args_is_help=True,
)

CacheOption = Annotated[
    Path | None,
    typer.Option(help="where converted folders go [default: $SXS_CACHE or ~/.cache/sxs]"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="print the result as JSON")]


@base_app.command("gemma")
def gemma(
    gguf_dir: Annotated[Path, typer.Option(help="where the assembled GGUF file is written")] = Path(
        "models"
    ),
    cache: CacheOption = None,
    json_output: JsonOption = False,
) -> None:
    """Assemble Gemma 3 270M (google/gemma-3-270m, pretrained, GGUF Q4_K_M) from the `gemma`
    extra's packages, check its sha256, and convert it; prints the HF folder to use as
    `base_model`. Gemma Terms of Use apply."""
    started = time.monotonic()
    _report(gemma_base(gguf_dir, cache), started, json_output)
    if not json_output:
        typer.echo(f"licence: {GEMMA_TERMS}")


@base_app.command("convert")
def convert(
    gguf: Annotated[Path, typer.Argument(help="a .gguf model file transformers can read")],
    sha256: Annotated[
        str | None, typer.Option(help="refuse the file unless its sha256 is this")
    ] = None,
    cache: CacheOption = None,
    json_output: JsonOption = False,
) -> None:
    """Convert a GGUF file into an HF folder (bf16 safetensors, tokenizer, chat template);
    prints the folder to use as `base_model`."""
    started = time.monotonic()
    _report(convert_gguf(gguf, cache, expected_sha256=sha256), started, json_output)


def _report(base: ConvertedBase, started: float, json_output: bool) -> None:
    if json_output:
        typer.echo(
            json.dumps(
                {"folder": str(base.folder), "source": str(base.source), "sha256": base.sha256,
                 "architecture": base.architecture, "converted": base.converted},
            )
        )  # fmt: skip
        return
    how = "converted" if base.converted else "already converted"
    typer.echo(
        f"{base.source} ({base.architecture}, sha256 {base.sha256[:16]}…) {how} in "
        f"{time.monotonic() - started:.0f} s"
    )
    typer.echo(str(base.folder))


def convert_registry_base(registry: Registry) -> None:
    """Convert the registry's base model first when it names a GGUF file not converted yet
    (`base_path()` then finds the folder)."""
    gguf = registry.gguf_file()
    if gguf is not None and not is_converted(registry.gguf_folder()):
        typer.echo(f"converting {gguf} (once; about a minute for a small model)", err=True)
        convert_gguf(gguf)
