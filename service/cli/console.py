"""What commands show on the terminal: progress bars (on stderr, only on a terminal), a
matrix run's progress per cell, tables that fit the terminal's width, and the table of one
cell."""

from __future__ import annotations

import os
import signal
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from service.matrix.client import CellProgress, MatrixClient
from service.matrix.recipe import MatrixRecipe
from service.matrix.results import Cell, MatrixResults
from service.matrix.tables import markdown_table, table_rows, usage_line
from service.plans.model import MatrixPlan
from service.plans.text import plan_table
from service.reports.panels import JUDGE_HEADERS, agreement_lines, judge_rows, score_with_ci
from service.reports.ratings import round_robin_markdown, round_robin_ratings

_BORDER = 3  # a column's padding and its left border in rich's default box


QUIET_ENVIRONMENT = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # transformers' "Loading weights" bars too
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}


def quiet_third_parties() -> None:
    """Silence the progress bars and warnings of transformers, peft and torch (a variable the
    user set wins); sxs's own progress bars and messages stay."""
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    for category in (FutureWarning, DeprecationWarning, UserWarning):
        warnings.filterwarnings("ignore", category=category)
    if "transformers" in sys.modules:  # imported already: its switches were read at import
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        transformers_logging.set_verbosity_error()  # type: ignore[no-untyped-call]


@contextmanager
def progress_bar(label: str, total: int) -> Iterator[Callable[[], None]]:
    """Yields a function that advances the bar by one."""
    console = Console(stderr=True)
    progress = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task(label, total=total)
        yield lambda: progress.advance(task)


async def run_matrix_with_progress(
    client: MatrixClient, recipe: MatrixRecipe, console: Console
) -> MatrixResults:
    """Run the matrix with a bar per cell on a terminal, a log line per cell elsewhere."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        console=console,
        disable=not console.is_terminal,
    )
    tasks: dict[tuple[str, str, str], TaskID] = {}

    def name(row: str, baseline: str, language: str) -> str:
        return f"{row} vs {baseline} · {language}" if recipe.all_pairs else f"{row} · {language}"

    def show(state: CellProgress) -> None:
        key = (state.row, state.baseline, state.language)
        if key not in tasks:
            tasks[key] = progress.add_task(name(*key), total=state.total, status=state.status)
        progress.update(tasks[key], completed=state.done, status=state.status)

    def finished(cell: Cell) -> None:
        if not console.is_terminal:  # a log line per cell where no bar is drawn
            outcome = "failed" if cell.score is None else f"{cell.score:.1f}"
            label = name(cell.row, cell.baseline, cell.language)
            console.print(f"{label}: {outcome}", markup=False)

    try:
        with progress:
            return await client.run(recipe, show, finished)
    finally:
        await client.aclose()


def fitted_tables(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    width: int,
    keys: int = 1,
    title: str | None = None,
) -> list[Table]:
    """The table as one or more tables no wider than `width`: each repeats the first `keys`
    columns and takes as many of the others as fit, so no cell is ever cut or wrapped."""
    widths = [
        max(len(header), *(len(row[index]) for row in rows)) + _BORDER
        for index, header in enumerate(headers)
    ]
    room = width - 1 - sum(widths[:keys])
    chunks: list[list[int]] = [[]]
    for index in range(keys, len(headers)):
        if chunks[-1] and sum(widths[i] for i in chunks[-1]) + widths[index] > room:
            chunks.append([])
        chunks[-1].append(index)
    tables = []
    for number, chunk in enumerate(chunks):
        shown = [*range(keys), *chunk]
        part = f" ({number + 1}/{len(chunks)})" if len(chunks) > 1 else ""
        table = Table(title=f"{title}{part}" if title else None)
        for index in shown:
            table.add_column(
                headers[index], justify="left" if index < keys else "right", no_wrap=True
            )
        for row in rows:
            table.add_row(*(row[index] for index in shown))
        tables.append(table)
    return tables


def print_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    keys: int = 1,
    title: str | None = None,
) -> None:
    """Print the table on stdout, split by columns to fit the terminal (see `fitted_tables`)."""
    console = Console()
    for table in fitted_tables(headers, rows, console.width, keys, title):
        console.print(table)


def print_plan(plan: MatrixPlan, as_json: bool) -> None:
    """A plan on stdout: its table (`service.plans.text`), or its JSON."""
    typer.echo(plan.model_dump_json(indent=2) if as_json else plan_table(plan), nl=as_json)


def print_matrix(results: MatrixResults) -> None:
    """The matrix on stdout: tables that fit on a terminal, Markdown when piped."""
    console = Console()
    if results.recipe.all_pairs:
        ratings = round_robin_ratings(results)
        console.out(round_robin_markdown(ratings), end="", highlight=False)
    elif console.is_terminal:
        headers, rows = table_rows(results)
        print_table(headers, rows, title=results.recipe.title or "IF scores")
    else:
        console.out(markdown_table(results), end="", highlight=False)
    console.out(usage_line(results.cells), end="", highlight=False)


def print_cell(cell: Cell) -> None:
    """One cell: the raw score with its CI, the controlled scores, W/T/L, invalid, identical,
    empty and off-language counts; for a panel, each judge's own statistics and the kappas."""

    def share(value: float | None) -> str:
        return "" if value is None else f"{value:.0f}%"

    row = [
        score_with_ci(cell.score, cell.ci_low, cell.ci_high),
        score_with_ci(cell.length_controlled, cell.length_controlled_ci_low,
                      cell.length_controlled_ci_high),
        score_with_ci(cell.language_controlled, cell.language_controlled_ci_low,
                      cell.language_controlled_ci_high),
        f"{cell.wins} / {cell.ties} / {cell.losses}",
        str(cell.invalid),
        str(cell.identical),
        f"{cell.empty_row} / {cell.empty_baseline}",
        f"{share(cell.off_language)} / {share(cell.off_language_baseline)}",
    ]  # fmt: skip
    headers = ["score [95% CI]", "length-controlled", "language-controlled", "W / T / L",
               "invalid", "identical", "empty", "off-language"]  # fmt: skip
    print_table(headers, [row], title=f"{cell.row} vs {cell.baseline} · {cell.language}")
    Console().out(usage_line([cell]), end="", highlight=False)
    if cell.panel is not None:
        print_table(JUDGE_HEADERS, judge_rows(cell.panel), title="the panel's judges")
        console = Console()
        for line in agreement_lines(cell.panel):
            console.print(line, markup=False, highlight=False)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops like Ctrl-C: every context exits, so vLLM is stopped too."""

    def interrupt(number: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def percent(value: float | None) -> str:
    """`61.8%`, or `n/a` for none."""
    return "n/a" if value is None else f"{value:.1f}%"
