"""Every table and figure of a matrix's results, written into one folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from common.files import write_text_atomically
from service.matrix.results import SCORE_TITLES, MatrixResults, ScoreKind, save_results
from service.matrix.tables import caveats_markdown, markdown_table, pairwise_markdown, usage_line
from service.reports.figures import bilingual, heatmap, sweep
from service.reports.panels import panel_markdown
from service.reports.ratings import (
    bradley_terry,
    ratings_markdown,
    round_robin_markdown,
    round_robin_ratings,
)

CONTROLLED = (ScoreKind.LENGTH_CONTROLLED, ScoreKind.LANGUAGE_CONTROLLED)
CONTROLLED_NOTES = {
    "length_controlled": "The score each row would get at equal response length: a logistic "
    "model of each pair's outcome on the log ratio of the two responses' lengths, read at "
    "zero (judges/length_control.py).",
    "language_controlled": "The score when a response not in the prompt's language loses its "
    "pair, whatever the judge said (judges/language_control.py).",
}


def render(
    results: MatrixResults, out: Path, heatmaps: Sequence[ScoreKind] = (ScoreKind.RAW,)
) -> list[Path]:
    """Every table and figure of `results` into `out`: matrix.md has the raw scores, then the
    controlled ones where the cells have them; a heatmap per kind of score in `heatmaps`
    (heatmap.png for the raw one, heatmap-KIND.png for the others). A round robin gets its
    own tables instead (`render_round_robin`)."""
    if results.recipe.all_pairs:
        return render_round_robin(results, out)
    paths = list(save_results(results, out).values())
    caveats, panels = caveats_markdown(results), panel_markdown(results)
    usage = usage_line(results.cells)
    controlled = [
        f"\n## {SCORE_TITLES[kind].capitalize()} scores\n\n{CONTROLLED_NOTES[kind]}\n\n"
        + markdown_table(results.scored(kind))
        for kind in CONTROLLED
        if results.has(kind)
    ]
    write_text_atomically(
        out / "matrix.md",
        f"# {results.recipe.title}\n\n{markdown_table(results)}"
        + (f"\n{usage}" if usage else "")
        + (f"\n{caveats}" if caveats else "")
        + "".join(controlled)
        + (f"\n{panels}" if panels else ""),
    )
    paths.append(out / "matrix.md")
    ratings = (
        bradley_terry(results) if any(c.wins + c.losses + c.ties for c in results.cells) else {}
    )
    if ratings:
        text = "# Bradley–Terry ratings (Elo points, each language's baseline at 0)\n\n"
        write_text_atomically(out / "ratings.md", text + ratings_markdown(ratings))
        paths.append(out / "ratings.md")
    for kind in dict.fromkeys(heatmaps):
        if kind is ScoreKind.RAW:
            paths.append(heatmap(results, out / "heatmap.png"))
        elif results.has(kind):
            paths.append(heatmap(results.scored(kind), out / f"heatmap-{kind}.png"))
    for figure, name in ((sweep, "sweep.png"), (bilingual, "bilingual.png")):
        drawn = figure(results, out / name)
        if drawn is not None:
            paths.append(drawn)
    return paths


def render_round_robin(results: MatrixResults, out: Path) -> list[Path]:
    """matrix.json and matrix.csv, matrix.md (each language's row-against-row scores) and
    ratings.md (Bradley–Terry ratings with bootstrap CIs, best first)."""
    paths = list(save_results(results, out).values())
    usage = usage_line(results.cells)
    write_text_atomically(
        out / "matrix.md",
        f"# {results.recipe.title}\n\n{pairwise_markdown(results)}"
        + (f"\n{usage}" if usage else ""),
    )
    text = (
        "# Bradley–Terry ratings of the round robin (Elo points, the models' mean at 0, "
        "bootstrap 95% CI)\n\n"
    )
    ratings = round_robin_ratings(results)
    write_text_atomically(out / "ratings.md", text + round_robin_markdown(ratings))
    return [*paths, out / "matrix.md", out / "ratings.md"]
