"""An IF matrix's results as text: the score table (Markdown or rows for the terminal), the
round robin's pairwise table, the caveats a reader must see, and the judge-usage line."""

from __future__ import annotations

from collections.abc import Iterable

from judges.usage import TokenUsage, cost_text, total
from service.matrix.results import Cell, MatrixResults


def table_rows(results: MatrixResults) -> tuple[list[str], list[list[str]]]:
    """The matrix as text: its headers (model, each language, avg) and a row per model, with
    scores, their 95% CI and the row average."""
    languages = results.recipe.languages
    rows = []
    for row in results.recipe.rows:
        texts = [row.name, *(_cell_text(results.cell(row.model, lang)) for lang in languages)]
        average = results.average(row.model)
        rows.append([*texts, "" if average is None else f"{average:.1f}"])
    return ["model", *languages, "avg"], rows


def markdown_table(results: MatrixResults) -> str:
    """The matrix as a Markdown table (`table_rows`, the averages in bold)."""
    headers, rows = table_rows(results)
    lines = ["| " + " | ".join(headers) + " |", "|---|" + "---:|" * (len(headers) - 1)]
    for *texts, average in rows:
        lines.append("| " + " | ".join([*texts, f"**{average}**" if average else ""]) + " |")
    return "\n".join(lines) + "\n"


def pairwise_markdown(results: MatrixResults) -> str:
    """A round robin's scores: per language, each row's score against each column's model."""
    models = [row.model for row in results.recipe.rows]
    parts = []
    for language in results.recipe.languages:
        scores: dict[tuple[str, str], float | None] = {}
        for cell in results.cells:
            if cell.language == language:
                scores[(cell.row, cell.baseline)] = cell.score
                flipped = None if cell.score is None else 100.0 - cell.score
                scores[(cell.baseline, cell.row)] = flipped
        lines = [f"## {language}", "", "| model | " + " | ".join(models) + " |",
                 "|---|" + "---:|" * len(models)]  # fmt: skip
        for row in models:
            texts = [
                "" if row == other else _score_text(scores.get((row, other))) for other in models
            ]
            lines.append(f"| {row} | " + " | ".join(texts) + " |")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def _score_text(score: float | None) -> str:
    return "—" if score is None else f"{score:.1f}"


OFF_LANGUAGE_NOTE = 10.0  # percent of a row's responses not in the prompt's language


def caveats_markdown(results: MatrixResults) -> str:
    """A table of the cells a reader should weigh: any invalid verdict (no score from those
    pairs), an off-language share of at least `OFF_LANGUAGE_NOTE` percent, or an error; empty
    when there is none."""
    lines = []
    for cell in results.cells:
        if cell.diagonal:
            continue
        shares = (cell.off_language, cell.off_language_baseline)
        off = any(share is not None and share >= OFF_LANGUAGE_NOTE for share in shares)
        if cell.invalid or off or cell.error:
            row_off, baseline_off = ("" if s is None else f"{s:.0f}%" for s in shares)
            error = (cell.error or "").replace("|", "/").replace("\n", " ")
            texts = [cell.row, cell.language, f"{cell.invalid} of {cell.pairs}", row_off,
                     baseline_off, error]  # fmt: skip
            lines.append("| " + " | ".join(texts) + " |")
    if not lines:
        return ""
    header = [
        f"Cells to read with care (invalid verdicts, or {OFF_LANGUAGE_NOTE:.0f}% or more of "
        "the row's or the baseline's responses not in the prompt's language, or an error):",
        "",
        "| row | language | invalid | row off-language | baseline off-language | error |",
        "|---|---|---:|---:|---:|---|",
    ]
    return "\n".join(header + lines) + "\n"


def judge_usage(cells: Iterable[Cell]) -> tuple[TokenUsage, float | None]:
    """The judge tokens of `cells`, and their estimated price (None unless every judged cell
    has one)."""
    judged = [cell for cell in cells if cell.judge_replies or cell.judge_replies_without_usage]
    usage = total(
        TokenUsage(cell.judge_replies, cell.judge_prompt_tokens, cell.judge_completion_tokens,
                   cell.judge_replies_without_usage)
        for cell in judged
    )  # fmt: skip
    costs = [cell.judge_cost for cell in judged]
    return usage, None if None in costs else sum(cost or 0.0 for cost in costs)


def usage_line(cells: Iterable[Cell]) -> str:
    """One sentence on what the judgments of `cells` cost (empty when none was judged)."""
    usage, cost = judge_usage(cells)
    if not usage.replies and not usage.unreported:
        return ""
    line = (
        f"Judge tokens: {usage.prompt_tokens:,} prompt + {usage.completion_tokens:,} completion "
        f"over {usage.replies:,} replies"
    )
    if usage.unreported:
        line += f" ({usage.unreported:,} more replies reported no usage)"
    if cost is not None:
        line += f"; estimated cost {cost_text(usage, cost)} at the judges' configured prices"
    return line + ".\n"


def _cell_text(cell: Cell | None) -> str:
    if cell is None or cell.score is None:
        return "—"
    if cell.diagonal or cell.ci_low is None or cell.ci_high is None:
        return f"{cell.score:.1f}"
    return f"{cell.score:.1f} [{cell.ci_low:.0f}–{cell.ci_high:.0f}]"
