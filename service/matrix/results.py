"""An IF matrix's results: one cell per (row, evaluation language), saved as JSON and CSV.

The JSON file holds the recipe and every cell, so figures and tables are redrawn from it
without recomputation (`sxs plot`). A CSV of scores in the paper's layout (a row-name column,
one column per language, optional `avg`) can be read as results too.
"""

from __future__ import annotations

import csv
import io
from enum import StrEnum
from pathlib import Path
from statistics import fmean

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from common.errors import InputFileError
from common.files import write_text_atomically
from judges.statistics import PanelSummary
from service.matrix.recipe import MatrixRecipe, RowSpec

DIAGONAL_SCORE = 50.0
NO_VALID_JUDGMENT = "no valid judgment"  # a cell whose every pair the judge left invalid
NOT_IN_CSV = {"panel"}  # nested: matrix.json and matrix.md show it


class ScoreKind(StrEnum):
    """Which score a table or figure shows."""

    RAW = "raw"
    LENGTH_CONTROLLED = "length_controlled"
    LANGUAGE_CONTROLLED = "language_controlled"


SCORE_TITLES: dict[str, str] = {
    "raw": "",
    "length_controlled": "length-controlled",
    "language_controlled": "language-controlled",
}


class Cell(BaseModel):
    """The row model against the language's baseline, in that language; percentages."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    row: str
    language: str
    baseline: str
    diagonal: bool = False
    score: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    pairs: int = 0
    wins: int = 0
    ties: int = 0
    losses: int = 0
    invalid: int = 0
    identical: int = 0
    empty_row: int = Field(default=0, description="items the row model answered empty")
    empty_baseline: int = Field(default=0, description="items the baseline answered empty")
    off_language: float | None = Field(
        default=None, description="share of the row's responses not in the language, percent"
    )
    off_language_baseline: float | None = Field(
        default=None, description="the same share of the baseline's responses"
    )
    length_controlled: float | None = Field(
        default=None, description="the score at equal response length (judges.length_control)"
    )
    length_controlled_ci_low: float | None = None
    length_controlled_ci_high: float | None = None
    language_controlled: float | None = Field(
        default=None, description="the score when an off-language response loses its pair"
    )
    language_controlled_ci_low: float | None = None
    language_controlled_ci_high: float | None = None
    panel: PanelSummary | None = Field(
        default=None,
        description="a panel's judges and their kappas (matrix.json and matrix.md, not the csv)",
    )
    judge_replies: int = Field(default=0, description="judge replies the cell rests on")
    judge_prompt_tokens: int = Field(default=0, description="their prompt tokens (API usage)")
    judge_completion_tokens: int = 0
    judge_replies_without_usage: int = Field(
        default=0, description="replies whose judge reported no usage (local judges)"
    )
    judge_cost: float | None = Field(
        default=None, description="the tokens at the judges' configured prices, if any"
    )
    job_id: str | None = None
    error: str | None = None


class MatrixResults(BaseModel):
    """A recipe and its cells."""

    model_config = ConfigDict(extra="forbid")

    recipe: MatrixRecipe
    cells: list[Cell] = Field(default_factory=list)

    def cell(self, row: str, language: str) -> Cell | None:
        """The cell of (row, language), if computed."""
        return self._index().get((row, language))

    def score(self, row: str, language: str) -> float | None:
        """The cell's score (50 on the diagonal), None if missing or failed."""
        found = self.cell(row, language)
        return None if found is None else found.score

    def average(self, row: str, languages: list[str] | None = None) -> float | None:
        """The row's mean over `languages` (default: all), diagonal included as in the paper;
        None unless every one of them has a score."""
        scores = [self.score(row, language) for language in languages or self.recipe.languages]
        return fmean(s for s in scores if s is not None) if None not in scores else None

    def scored(self, kind: ScoreKind) -> MatrixResults:
        """These results with `kind` as every cell's score and CI (the diagonal stays 50), so
        tables and figures show a controlled score as they show the raw one."""
        if kind is ScoreKind.RAW:
            return self
        cells = [
            cell if cell.diagonal else cell.model_copy(update={
                "score": getattr(cell, kind),
                "ci_low": getattr(cell, f"{kind}_ci_low"),
                "ci_high": getattr(cell, f"{kind}_ci_high"),
            })
            for cell in self.cells
        ]  # fmt: skip
        title = f"{self.recipe.title} ({SCORE_TITLES[kind]})"
        return MatrixResults(recipe=self.recipe.model_copy(update={"title": title}), cells=cells)

    def has(self, kind: ScoreKind) -> bool:
        """Whether any off-diagonal cell has a `kind` score."""
        return any(cell.score is not None for cell in self.scored(kind).cells if not cell.diagonal)

    def missing(self) -> list[Cell]:
        """Cells that failed (their error says why)."""
        return [cell for cell in self.cells if cell.score is None]

    def _index(self) -> dict[tuple[str, str], Cell]:
        return {(cell.row, cell.language): cell for cell in self.cells}


def save_results(results: MatrixResults, folder: Path) -> dict[str, Path]:
    """matrix.json, matrix.csv (one line per cell) and, unless it is a round robin, scores.csv
    (rows × languages + avg)."""
    paths = {"json": folder / "matrix.json", "cells": folder / "matrix.csv"}
    write_text_atomically(paths["json"], results.model_dump_json(indent=2))
    write_text_atomically(paths["cells"], _cells_csv(results))
    if not results.recipe.all_pairs:
        paths["scores"] = folder / "scores.csv"
        write_text_atomically(paths["scores"], scores_csv(results))
    return paths


def load_results(path: Path) -> MatrixResults:
    """A matrix.json, or a scores CSV in the paper's layout."""
    if path.suffix == ".csv":
        return results_from_scores_csv(path)
    try:
        return MatrixResults.model_validate_json(path.read_text("utf-8"))
    except OSError as error:
        raise InputFileError(str(path), None, f"cannot read: {error.strerror}") from None
    except ValidationError as error:
        raise InputFileError(str(path), None, f"not a matrix results file ({error})") from None


def results_from_scores_csv(path: Path) -> MatrixResults:
    """Scores in the paper's layout: the first column names the rows, the others are languages
    (an `avg` column is ignored: it is recomputed). A row named like a language is that
    language's baseline (its diagonal)."""
    try:
        lines = list(csv.reader(io.StringIO(path.read_text("utf-8"))))
    except OSError as error:
        raise InputFileError(str(path), None, f"cannot read: {error.strerror}") from None
    if len(lines) < 2 or len(lines[0]) < 2:
        raise InputFileError(str(path), None, "expected a header and at least one row")
    header = lines[0]
    languages = [name for name in header[1:] if name != "avg"]
    rows = [line[0] for line in lines[1:] if line]
    baselines = {language: language if language in rows else f"mono-{language}"
                 for language in languages}  # fmt: skip
    cells: list[Cell] = []
    for number, line in enumerate(lines[1:], start=2):
        if len(line) != len(header):
            raise InputFileError(
                str(path), number, f"{len(line)} fields, the header has {len(header)}"
            )
        for language, text in zip(header[1:], line[1:], strict=True):
            if language == "avg":
                continue
            try:
                score = float(text)
            except ValueError:
                raise InputFileError(
                    str(path), number, f"{language}: {text!r} is not a number"
                ) from None
            row = line[0]
            cells.append(Cell(row=row, language=language, baseline=baselines[language],
                              diagonal=row == baselines[language], score=score))  # fmt: skip
    recipe = MatrixRecipe(
        title=path.stem,
        rows=[RowSpec(model=row) for row in rows],
        languages=languages,
        baselines=baselines,
    )
    return MatrixResults(recipe=recipe, cells=cells)


def scores_csv(results: MatrixResults) -> str:
    """Rows × languages with `avg`, one decimal (blank where a cell is missing)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    languages = results.recipe.languages
    writer.writerow(["row", *languages, "avg"])
    for row in results.recipe.rows:
        values = [results.score(row.model, language) for language in languages]
        values.append(results.average(row.model))
        writer.writerow([row.name, *("" if v is None else f"{v:.1f}" for v in values)])
    return buffer.getvalue()


def _cells_csv(results: MatrixResults) -> str:
    buffer = io.StringIO()
    fields = [name for name in Cell.model_fields if name not in NOT_IN_CSV]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for cell in results.cells:
        values = cell.model_dump(exclude=NOT_IN_CSV)
        writer.writerow({k: "" if v is None else v for k, v in values.items()})
    return buffer.getvalue()
