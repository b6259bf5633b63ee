"""`sxs agreement`: judge–human agreement of two label files (the paper's Appendix D)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from judges.agreement import JudgeBehaviour, OrderMatch, read_labels
from judges.agreement import agreement as compute_agreement
from service.cli.console import percent


def agreement(
    first: Annotated[
        Path,
        typer.Argument(help="JSONL labels: {id, label: '1' | '2' | 'tie', language (optional)}"),
    ],
    second: Annotated[Path, typer.Argument(help="the other labels, same ids")],
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Judge–human agreement (paper, Appendix D): 1 same pick, 0.5 one tie, 0 opposite; with
    a bootstrap 95% CI, overall and per language when the labels carry a `language`.

    Two results files (`sxs judge --out`, a distilled judge's held_out.jsonl) are also
    compared order by order: exact match, and each judge's invalid pairs, order consistency
    and first-position preference."""
    result = compute_agreement(read_labels(first), read_labels(second))
    if as_json:
        data = asdict(result)
        typer.echo(json.dumps({"agreement": data.pop("percent")} | data))
        return
    typer.echo(
        f"agreement {result.percent:.1f}% [{result.ci_low:.1f}, {result.ci_high:.1f}]  n={result.n}"
    )
    for language, share in result.by_language.items():
        typer.echo(
            f"  {language}: {share.percent:.1f}% [{share.ci_low:.1f}, {share.ci_high:.1f}]  "
            f"n={share.n}"
        )
    if result.orders is not None:
        _print_orders(result.orders, first, second)
    skipped = result.only_first + result.only_second + result.unlabelled
    if skipped:
        typer.echo(
            f"not compared: {result.only_first} ids only in {first}, {result.only_second} only "
            f"in {second}, {result.unlabelled} with a null label"
        )


def _print_orders(orders: OrderMatch, first: Path, second: Path) -> None:
    typer.echo(f"exact match per order {percent(orders.exact_match)}  orders={orders.orders}")
    for path, judge in ((first, orders.first), (second, orders.second)):
        typer.echo(f"  {path}: {_behaviour(judge)}")


def _behaviour(judge: JudgeBehaviour) -> str:
    return (
        f"invalid {judge.invalid} of {judge.pairs} pairs, order consistency "
        f"{percent(judge.order_consistency)}, first-position preference "
        f"{percent(judge.first_position_preference)}"
    )
