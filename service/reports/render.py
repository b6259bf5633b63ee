"""Every table and figure of a matrix's results, written into one folder."""

from __future__ import annotations

from pathlib import Path

from common.files import write_text_atomically
from service.matrix.results import (
    MatrixResults,
    caveats_markdown,
    markdown_table,
    save_results,
)
from service.reports.figures import bilingual, heatmap, sweep
from service.reports.ratings import bradley_terry, ratings_markdown


def render(results: MatrixResults, out: Path) -> list[Path]:
    """Every table and figure of `results` into `out`."""
    paths = list(save_results(results, out).values())
    caveats = caveats_markdown(results)
    write_text_atomically(
        out / "matrix.md",
        f"# {results.recipe.title}\n\n{markdown_table(results)}"
        + (f"\n{caveats}" if caveats else ""),
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
