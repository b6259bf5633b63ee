"""`sxs judges report`: a judge's report card against reference labels."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from judges.report_card import read_card_records, report_card
from service.cli.options import CompletionPriceOption, PromptPriceOption, prices_option
from service.reports.judge_card import card_markdown, render_card


def report(
    judge_file: Annotated[
        Path,
        typer.Argument(
            help="the judge's verdicts: a results file (sxs judge --out, held_out.jsonl) or a "
            "label file {id, label, language?, response_a?/length_a?, model_a?, ...}"
        ),
    ],
    labels: Annotated[
        Path, typer.Argument(help="reference labels (humans, a teacher): {id, label, language?}")
    ],
    out: Annotated[
        Path | None, typer.Option(help="write card.json, card.md, card.png here")
    ] = None,
    judge_model: Annotated[
        str | None,
        typer.Option(
            help="the judge's own model, for self-preference (as model_a/model_b name it)"
        ),
    ] = None,
    prompt_price: PromptPriceOption = None,
    completion_price: CompletionPriceOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the card as JSON")] = False,
) -> None:
    """Whether a judge can be trusted, in one card: agreement with the labels (Appendix D,
    95% CI, per language), Cohen's kappa, position bias, length bias (longer-wins rate and the
    logistic slope on the log length ratio), self-preference, invalid rate, tokens and price
    per 1,000 pairs. What the files cannot tell is listed as not measured."""
    card = report_card(
        read_card_records(judge_file),
        read_card_records(labels),
        names=(judge_file.name, labels.name),
        judge_model=judge_model,
        prices=prices_option(prompt_price, completion_price),
    )
    typer.echo(json.dumps(asdict(card)) if as_json else card_markdown(card), nl=not as_json)
    if as_json:
        typer.echo("")
    if out is not None:
        written = render_card(card, out)
        typer.echo("files: " + ", ".join(str(path) for path in written), err=as_json)
