"""`sxs plot`: redraw a matrix's tables and figures from its results, with no computation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli.console import print_matrix
from service.cli.options import HeatmapOption
from service.matrix.results import ScoreKind, load_results
from service.reports.render import render


def plot(
    results_file: Annotated[
        Path, typer.Argument(help="matrix.json of `sxs matrix`, or a scores CSV (paper layout)")
    ],
    out: Annotated[Path | None, typer.Option(help="[default: the file's folder]")] = None,
    heatmaps: HeatmapOption = [ScoreKind.RAW],  # noqa: B006 (typer reads it, never mutates it)
) -> None:
    """Redraw a matrix's tables and figures from its results, with no computation."""
    results = load_results(results_file)
    written = render(results, out or results_file.parent, heatmaps)
    print_matrix(results)
    typer.echo("files: " + ", ".join(str(path) for path in written))
