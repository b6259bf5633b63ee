"""`sxs agreement`: judge–human agreement of two label files (the paper's Appendix D)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from judges.agreement import agreement as compute_agreement
from judges.agreement import read_labels


def agreement(
    first: Annotated[Path, typer.Argument(help="JSONL labels: {id, label: '1' | '2' | 'tie'}")],
    second: Annotated[Path, typer.Argument(help="the other labels, same ids")],
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Judge–human agreement (paper, Appendix D): 1 same pick, 0.5 one tie, 0 opposite."""
    result = compute_agreement(read_labels(first), read_labels(second))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "agreement": result.percent,
                    "n": result.n,
                    "only_first": result.only_first,
                    "only_second": result.only_second,
                    "unlabelled": result.unlabelled,
                }
            )
        )
        return
    typer.echo(f"agreement {result.percent:.1f}%  n={result.n}")
    skipped = result.only_first + result.only_second + result.unlabelled
    if skipped:
        typer.echo(
            f"not compared: {result.only_first} ids only in {first}, {result.only_second} only "
            f"in {second}, {result.unlabelled} with a null label"
        )
