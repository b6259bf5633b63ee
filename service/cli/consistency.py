"""`sxs consistency`: cross-lingual consistency of registered models on a parallel MCQ set."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from common.files import write_text_atomically
from common.lists import comma_list
from common.openai_http import ClientSettings
from generators.mcq_client import McqAnswerer
from generators.mcq_sets import read_mcq_set
from generators.registry import load_registry
from service.cli.console import print_table, progress_bar
from service.cli.errors import UsageError
from service.cli.options import RegistryOption
from service.jobs.errors import RequestError
from service.jobs.mcq_runs import (
    ItemAnswers,
    answer_items,
    check_run,
    reports,
)


def consistency(
    models: Annotated[str, typer.Option(help="registered models, comma-separated")],
    mcq_set_file: Annotated[Path, typer.Option("--set", help="parallel multiple-choice JSONL")],
    languages: Annotated[
        str | None, typer.Option(help="comma-separated [default: every language of the set]")
    ] = None,
    registry_file: RegistryOption = Path("models.toml"),
    db: Annotated[Path, typer.Option(envvar="SXS_DB", help="SQLite store")] = Path(".sxs/sxs.db"),
    s: Annotated[int, typer.Option("--s", min=1, help="subset size of Consistency_s")] = 3,
    reference_accuracy: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="A_g for CLiKA's RA (a fraction)")
    ] = None,
    out: Annotated[Path, typer.Option(help="folder for consistency.json and the heatmap")] = Path(
        "consistency"
    ),
    concurrency: Annotated[int, typer.Option(min=1, help="requests in flight")] = 32,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Each model answers each item in each language (option-letter log-probabilities);
    accuracy, Consistency_s, AC3, pairwise consistency, RA, en-CO and XRR per model."""
    names = comma_list(models)
    registry = load_registry(registry_file)
    for name in names:
        registry.served(name)
    mcq_set = read_mcq_set(mcq_set_file)
    codes = comma_list(languages) or list(mcq_set.languages)
    try:
        check_run(mcq_set, codes, s, reference_accuracy)
    except RequestError as error:  # the message names the set's file
        raise UsageError(f"{mcq_set_file}: {error}") from None
    answerer = McqAnswerer(registry, db, client=ClientSettings(concurrency, timeout_s=120.0))
    records = asyncio.run(_answer(answerer, names, mcq_set.items, codes))
    report = reports(records, mcq_set, codes, s, reference_accuracy)
    write_text_atomically(out / "consistency.json", json.dumps(report, indent=2))
    from service.reports.figures import pairwise_heatmap

    figure = pairwise_heatmap(report, codes, out / "pairwise_consistency.png")
    if as_json:
        typer.echo(json.dumps(report))
    else:
        _print_table(report, codes, s)
        if unanswered := _unanswered(report):
            typer.echo(unanswered)
        typer.echo(
            f"{answerer.calls} answers asked, {answerer.cache_hits} from the store; "
            f"files: {out / 'consistency.json'}, {figure}"
        )


async def _answer(
    answerer: McqAnswerer, models: list[str], items: list[Any], languages: list[str]
) -> list[ItemAnswers]:
    records: list[ItemAnswers] = []
    try:
        with progress_bar("answering", len(models) * len(items) * len(languages)) as advance:
            for model in models:
                records += await answer_items(
                    answerer, model, items, languages, on_answer=lambda _: advance()
                )
    finally:
        await answerer.aclose()
    return records


def _print_table(report: dict[str, dict[str, Any]], languages: list[str], s: int) -> None:
    rows = [
        [
            model,
            *(f"{100 * metrics['accuracy'][language]:.1f}" for language in languages),
            f"{100 * metrics['mean_accuracy']:.1f}",
            f"{100 * metrics['consistency']:.1f}",
            f"{100 * metrics['ac3']:.1f}",
        ]
        for model, metrics in report.items()
    ]
    headers = ["model", *languages, "mean", f"Consistency_{s}", f"AC3_{s}"]
    print_table(headers, rows, title="accuracy per language, consistency and AC3 (percent)")


def _unanswered(report: dict[str, dict[str, Any]]) -> str:
    """One line per model with items left unanswered ('fi 2, sw 1'); empty when none."""
    lines = []
    for model, metrics in report.items():
        counts = [f"{language} {n}" for language, n in metrics["missing"].items() if n]
        if counts:
            lines.append(f"{model}: no answer (wrong, agrees with nothing) for {', '.join(counts)}")
    return "\n".join(lines)
