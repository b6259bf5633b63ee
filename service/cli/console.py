"""What commands show on the terminal: progress bars (on stderr, only on a terminal), a
matrix run's progress per cell, and the table of one cell."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

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
    tasks: dict[tuple[str, str], TaskID] = {}

    def show(state: CellProgress) -> None:
        key = (state.row, state.language)
        if key not in tasks:
            tasks[key] = progress.add_task(
                f"{state.row} · {state.language}", total=state.total, status=state.status
            )
        progress.update(tasks[key], completed=state.done, status=state.status)

    def finished(cell: Cell) -> None:
        if not console.is_terminal:  # a log line per cell where no bar is drawn
            outcome = "failed" if cell.score is None else f"{cell.score:.1f}"
            console.print(f"{cell.row} · {cell.language}: {outcome}", markup=False)

    try:
        with progress:
            return await client.run(recipe, show, finished)
    finally:
        await client.aclose()


def cell_table(cell: Cell) -> Table:
    """One cell: score, CI, W/T/L, invalid, identical, empty and off-language counts."""
    table = Table(title=f"{cell.row} vs {cell.baseline} · {cell.language}")
    columns = ("score", "95% CI", "W / T / L", "invalid", "identical", "empty", "off-language")
    for column in columns:
        table.add_column(column, justify="right")
    interval = "" if cell.ci_low is None else f"[{cell.ci_low:.1f}, {cell.ci_high:.1f}]"
    table.add_row(
        "—" if cell.score is None else f"{cell.score:.1f}",
        interval,
        f"{cell.wins} / {cell.ties} / {cell.losses}",
        str(cell.invalid),
        str(cell.identical),
        f"{cell.empty_row} / {cell.empty_baseline}",
        "" if cell.off_language is None else f"{cell.off_language:.0f}%",
    )
    return table
