"""`sxs plot`: redraw a matrix's tables and figures from its results, with no computation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from service.cli.console import print_matrix
from service.matrix.results import load_results
from service.reports.render import render


def plot(
    results_file: Annotated[
        Path, typer.Argument(help="matrix.json of `sxs matrix`, or a scores CSV (paper layout)")
    ],
    out: Annotated[Path | None, typer.Option(help="[default: the file's folder]")] = None,
) -> None:
    """Redraw a matrix's tables and figures from its results, with no computation."""
    results = load_results(results_file)
    written = render(results, out or results_file.parent)
    print_matrix(results)
    typer.echo("files: " + ", ".join(str(path) for path in written))
