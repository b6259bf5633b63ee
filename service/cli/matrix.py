"""`sxs matrix`, `sxs plot` and `sxs compare`: IF score matrices through the service."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from common.errors import InputFileError
from common.files import write_text_atomically
from service.cli.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, fail
from service.matrix.client import CellProgress, MatrixClient, MatrixError
from service.matrix.recipe import (
    MatrixRecipe,
    RecipeError,
    load_recipe,
    parse_baselines,
    validate_recipe,
)
from service.matrix.results import (
    Cell,
    MatrixResults,
    load_results,
    markdown_table,
    save_results,
)
from service.reports.figures import bilingual, heatmap, sweep
from service.reports.ratings import bradley_terry, ratings_markdown

ServerOption = Annotated[
    str, typer.Option(envvar="SXS_SERVER", help="the comparison service (sxs serve)")
]
TokenOption = Annotated[str | None, typer.Option(envvar="SXS_TOKEN", help="its bearer token")]


def _codes(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def matrix_recipe(
    recipe_file: Path | None,
    rows: str | None,
    languages: str | None,
    baselines: str | None,
    eval_set: str | None,
    judge: str | None,
) -> MatrixRecipe:
    """The recipe file, with any command-line option overriding its field."""
    data = load_recipe(recipe_file).model_dump(exclude_none=True) if recipe_file else {}
    if rows:
        data["rows"] = _codes(rows)
    if languages:
        data["languages"] = _codes(languages)
    if baselines:
        data["baselines"] = data.get("baselines", {}) | parse_baselines(baselines)
    data |= {k: v for k, v in {"eval_set": eval_set, "judge": judge}.items() if v}
    for needed, option in (("rows", "--rows"), ("languages", "--languages")):
        if not data.get(needed):
            raise RecipeError(f"{option} (or a --recipe file) is required")
    data.setdefault("baselines", {})
    return validate_recipe(data, str(recipe_file or "the options"))


def matrix(
    out: Annotated[Path, typer.Option(help="folder for the matrix's files")],
    recipe_file: Annotated[
        Path | None, typer.Option("--recipe", help="a recipe TOML (see recipes/)")
    ] = None,
    rows: Annotated[str | None, typer.Option(help="row models, comma-separated")] = None,
    languages: Annotated[str | None, typer.Option(help="evaluation languages")] = None,
    baselines: Annotated[
        str | None, typer.Option(help="LANG=MODEL,… (the model tuned on LANG)")
    ] = None,
    eval_set: Annotated[str | None, typer.Option(help="[default: the service's]")] = None,
    judge: Annotated[str | None, typer.Option(help="[default: the service's]")] = None,
    server: ServerOption = "http://127.0.0.1:8080",
    token: TokenOption = None,
    concurrency: Annotated[int, typer.Option(min=1, help="cells in flight")] = 4,
    check_language: Annotated[
        bool, typer.Option(help="share of responses not in the prompt's language")
    ] = True,
) -> None:
    """An IF score matrix: each row model against each language's baseline, in that language.

    Writes matrix.json (everything), matrix.csv (one line per cell), scores.csv, matrix.md,
    ratings.md and the figures into OUT. Interrupted, it resumes when run again.
    """
    try:
        recipe = matrix_recipe(recipe_file, rows, languages, baselines, eval_set, judge)
    except RecipeError as error:
        raise fail(str(error), EXIT_BAD_INPUT) from None
    client = MatrixClient(
        server, token=token, concurrency=concurrency, check_language=check_language
    )
    console = Console(stderr=True)
    try:
        results = asyncio.run(_run_with_progress(client, recipe, console))
    except MatrixError as error:
        raise fail(str(error), EXIT_BAD_INPUT if not client.finished else EXIT_FAILED) from None
    except KeyboardInterrupt:
        partial = list(client.finished.values())
        if partial:
            save_results(MatrixResults(recipe=recipe, cells=partial), out)
        raise fail(
            f"interrupted; {sum(not c.diagonal for c in partial)} finished cells saved in {out}; "
            "the service keeps the rest: run the same command again to resume",
            EXIT_INTERRUPTED,
        ) from None
    written = render(results, out)
    typer.echo(markdown_table(results))
    typer.echo("files: " + ", ".join(str(path) for path in written))
    missing = results.missing()
    if missing:
        first = missing[0]
        raise fail(
            f"{len(missing)} cells failed (e.g. {first.row} · {first.language}: {first.error}); "
            "fix the cause and run the same command again",
            EXIT_FAILED,
        )


async def _run_with_progress(
    client: MatrixClient, recipe: MatrixRecipe, console: Console
) -> MatrixResults:
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


def render(results: MatrixResults, out: Path) -> list[Path]:
    """Every table and figure of `results` into `out`."""
    paths = list(save_results(results, out).values())
    write_text_atomically(
        out / "matrix.md", f"# {results.recipe.title}\n\n" + markdown_table(results)
    )
    paths.append(out / "matrix.md")
    ratings = (
        bradley_terry(results) if any(c.wins + c.losses + c.ties for c in results.cells) else {}
    )
    if ratings:
        text = "# Bradley–Terry ratings (Elo points, each language's baseline at 0)\n\n"
        write_text_atomically(out / "ratings.md", text + ratings_markdown(ratings))
        paths.append(out / "ratings.md")
    paths.append(heatmap(results, out / "heatmap.png"))
    for figure, name in ((sweep, "sweep.png"), (bilingual, "bilingual.png")):
        drawn = figure(results, out / name)
        if drawn is not None:
            paths.append(drawn)
    return paths


def plot(
    results_file: Annotated[
        Path, typer.Argument(help="matrix.json of `sxs matrix`, or a scores CSV (paper layout)")
    ],
    out: Annotated[Path | None, typer.Option(help="[default: the file's folder]")] = None,
) -> None:
    """Redraw a matrix's tables and figures from its results, with no computation."""
    try:
        results = load_results(results_file)
    except InputFileError as error:
        raise fail(str(error), EXIT_BAD_INPUT) from None
    written = render(results, out or results_file.parent)
    typer.echo(markdown_table(results))
    typer.echo("files: " + ", ".join(str(path) for path in written))


def compare(
    model_a: Annotated[str, typer.Argument(help="the model scored")],
    model_b: Annotated[str, typer.Argument(help="the baseline it is scored against")],
    language: Annotated[str, typer.Option("--language", "-l")],
    eval_set: Annotated[str | None, typer.Option(help="[default: the service's]")] = None,
    judge: Annotated[str | None, typer.Option(help="[default: the service's]")] = None,
    server: ServerOption = "http://127.0.0.1:8080",
    token: TokenOption = None,
) -> None:
    """One cell: MODEL_A's IF score against MODEL_B in one language, as a table."""
    try:
        recipe = validate_recipe(
            {"rows": [model_a], "languages": [language], "baselines": {language: model_b},
             "eval_set": eval_set, "judge": judge},
            "the arguments",
        )  # fmt: skip
    except RecipeError as error:
        raise fail(str(error), EXIT_BAD_INPUT) from None
    client = MatrixClient(server, token=token, concurrency=1)
    try:
        results = asyncio.run(_run_with_progress(client, recipe, Console(stderr=True)))
    except MatrixError as error:
        raise fail(str(error), EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:
        raise fail("interrupted; run it again to resume", EXIT_INTERRUPTED) from None
    cell = results.cells[0]
    Console().print(_cell_table(cell))
    if cell.score is None:
        raise fail(f"the comparison failed: {cell.error}", EXIT_FAILED)


def _cell_table(cell: Cell) -> Table:
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
