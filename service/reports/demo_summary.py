"""The demo's summary figures, read from a matrix's cells: how often each language's
monolingual baseline beats the other monolingual models, and how often each model answers in
the instruction's language."""

from __future__ import annotations

from service.matrix.results import MatrixResults


def own_language_wins(results: MatrixResults) -> tuple[int, int]:
    """(cells where a monolingual baseline beat another monolingual model in its own language,
    such cells with a score)."""
    won = total = 0
    for cell in results.cells:
        if cell.diagonal or cell.score is None or not cell.row.startswith("mono-"):
            continue
        total += 1
        won += cell.score < 50
    return won, total


def in_language_shares(results: MatrixResults) -> dict[str, dict[str, float]]:
    """Percent of each model's responses in the instruction's language, by model and
    language, read from the matrix's cells (their stored off-language shares)."""
    shares: dict[str, dict[str, float]] = {}
    for cell in results.cells:
        for model, off in ((cell.row, cell.off_language),
                           (cell.baseline, cell.off_language_baseline)):  # fmt: skip
            if off is not None and not cell.diagonal:
                shares.setdefault(model, {})[cell.language] = 100.0 - off
    return shares


def in_language_markdown(shares: dict[str, dict[str, float]], languages: list[str]) -> str:
    """The shares as a Markdown table, a row per model."""
    lines = [
        "| model | " + " | ".join(languages) + " |",
        "|---|" + "---:|" * len(languages),
    ]
    for model, by_language in shares.items():
        cells = [f"{by_language[code]:.0f}" if code in by_language else "" for code in languages]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
