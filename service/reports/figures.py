"""Figures of an IF matrix, drawn from its results (matplotlib, Agg; PNG files).

- `heatmap`: the paper's Figure 1 — rows × evaluation languages, each column coloured as a
  heatmap of its own (its off-diagonal values span the colour map), the diagonal left grey,
  and an `avg` column (each row's mean over the languages, diagonal included) coloured on its
  own too.
- `sweep`: Figures 3–5 — score against the share P of multilingual examples, for English, the
  mean of the other languages, and, where rows say which languages they saw in training, the
  means over seen and unseen languages.
- `bilingual`: Figure 6 — for each language L, the model tuned on English + L against the
  monolingual-L baseline (in L) and against the English one (in English).
"""

from __future__ import annotations

from pathlib import Path
from statistics import fmean
from typing import Any

from common.files import atomic_binary_file
from service.matrix.results import MatrixResults

COLOURS = "RdYlGn"


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def heatmap(results: MatrixResults, path: Path) -> Path:
    """Figure-1-style heatmap; returns `path`."""
    plt = pyplot()
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    recipe = results.recipe
    columns = [*recipe.languages, "avg"]
    rows = recipe.rows
    width, height = 0.62 * len(columns) + 2.2, 0.42 * len(rows) + 1.4
    figure, axes = plt.subplots(figsize=(width, height), dpi=120)
    colour_map = colormaps[COLOURS]
    for x, column in enumerate(columns):
        values = [
            results.average(row.model) if column == "avg" else results.score(row.model, column)
            for row in rows
        ]
        diagonal = [
            column != "avg" and (cell := results.cell(row.model, column)) is not None
            and cell.diagonal
            for row in rows
        ]  # fmt: skip
        coloured = [v for v, d in zip(values, diagonal, strict=True) if v is not None and not d]
        norm = Normalize(min(coloured), max(coloured)) if coloured else Normalize(0, 100)
        for y, (value, on_diagonal) in enumerate(zip(values, diagonal, strict=True)):
            face: Any
            if value is None:
                face, text = "white", "—"
            elif on_diagonal:
                face, text = "#d9d9d9", f"{value:.1f}"
            else:
                face = colour_map(norm(value)) if len(coloured) > 1 else colour_map(0.5)
                text = f"{value:.1f}"
            axes.add_patch(plt.Rectangle((x, y), 1, 1, facecolor=face, edgecolor="white"))
            ink = "white" if _dark(face) else "black"
            axes.text(x + 0.5, y + 0.5, text, ha="center", va="center", fontsize=7, color=ink)
    axes.axvline(len(recipe.languages), color="black", linewidth=1.5)
    axes.set_xlim(0, len(columns))
    axes.set_ylim(len(rows), 0)
    axes.set_xticks([x + 0.5 for x in range(len(columns))], columns)
    axes.set_yticks([y + 0.5 for y in range(len(rows))], [row.name for row in rows])
    axes.xaxis.tick_top()
    axes.set_xlabel("evaluation language")
    axes.set_title(recipe.title, pad=24, fontsize=10)
    axes.tick_params(length=0)
    for side in axes.spines.values():
        side.set_visible(False)
    return save_figure(figure, path)


def sweep_series(results: MatrixResults) -> dict[str, list[tuple[float, float]]]:
    """Line name → (P, mean score) points, for rows that carry a percent."""
    recipe = results.recipe
    others = [language for language in recipe.languages if language != "en"]
    series: dict[str, list[tuple[float, float]]] = {}

    def add(name: str, percent: float, languages: list[str], row: str) -> None:
        scores = [results.score(row, language) for language in languages]
        if languages and None not in scores:
            series.setdefault(name, []).append((percent, fmean(s for s in scores if s is not None)))

    for row in sorted((r for r in recipe.rows if r.percent is not None), key=_percent):
        percent = _percent(row)
        add("English", percent, [lang for lang in recipe.languages if lang == "en"], row.model)
        add("non-English average", percent, others, row.model)
        if row.seen is not None:
            add("seen (non-English)", percent, [x for x in others if x in row.seen], row.model)
            add("unseen", percent, [x for x in others if x not in row.seen], row.model)
    return series


def sweep(results: MatrixResults, path: Path) -> Path | None:
    """Score against P (Figures 3–5); None unless some line has two points."""
    series = sweep_series(results)
    if not any(len(points) > 1 for points in series.values()):
        return None
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(6, 4), dpi=120)
    for name, points in series.items():
        axes.plot([p for p, _ in points], [s for _, s in points], marker="o", label=name)
    axes.axhline(50, color="grey", linestyle="--", linewidth=0.8)
    axes.set_xlabel("multilingual examples in the training mix, P (%)")
    axes.set_ylabel("IF score against the monolingual baselines")
    axes.set_title(results.recipe.title, fontsize=10)
    axes.legend(fontsize=8)
    return save_figure(figure, path)


def bilingual(results: MatrixResults, path: Path) -> Path | None:
    """Bilingual (en + L) models in L and in English (Figure 6); None without such rows."""
    rows = [row for row in results.recipe.rows if row.kind == "bilingual" and row.pair]
    points = [
        (row.pair, results.score(row.model, row.pair or ""), results.score(row.model, "en"))
        for row in rows
    ]
    points = [(lang, own, en) for lang, own, en in points if own is not None or en is not None]
    if not points:
        return None
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(0.7 * len(points) + 3, 4), dpi=120)
    positions = range(len(points))
    own_scores = [own if own is not None else 0 for _, own, _ in points]
    english = [en if en is not None else 0 for _, _, en in points]
    axes.bar([p - 0.2 for p in positions], own_scores, width=0.4, label="in L, vs mono-L")
    axes.bar([p + 0.2 for p in positions], english, width=0.4, label="in English, vs mono-en")
    axes.axhline(50, color="grey", linestyle="--", linewidth=0.8, label="monolingual (50)")
    axes.set_xticks(list(positions), [f"en+{lang}" for lang, _, _ in points])
    axes.set_ylabel("IF score")
    axes.set_title(results.recipe.title, fontsize=10)
    axes.legend(fontsize=8)
    return save_figure(figure, path)


def _dark(face: Any) -> bool:
    from matplotlib.colors import to_rgb

    red, green, blue = to_rgb(face)
    return 0.299 * red + 0.587 * green + 0.114 * blue < 0.45


def _percent(row: Any) -> float:
    return float(row.percent)


def save_figure(figure: Any, path: Path, tight: bool = True) -> Path:
    """Write `figure` as a PNG at `path`, atomically, and close it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if tight:
        figure.tight_layout()
    with atomic_binary_file(path) as handle:  # a reader never sees half a PNG
        figure.savefig(handle, format="png")
    pyplot().close(figure)
    return path


def pairwise_heatmap(report: dict[str, dict[str, Any]], languages: list[str], path: Path) -> Path:
    """One panel per model: the consistency M of every pair of languages (CrossIn Fig. 2)."""
    plt = pyplot()
    models = list(report)
    size = 0.55 * len(languages) + 1.6
    figure, axes = plt.subplots(
        1, len(models), figsize=(size * len(models) + 1, size), dpi=120, squeeze=False,
        layout="constrained",
    )  # fmt: skip
    for panel, model in zip(axes[0], models, strict=True):
        pairwise = report[model]["pairwise"]
        values = [[100 * pairwise[a][b] for b in languages] for a in languages]
        image = panel.imshow(values, cmap="viridis", vmin=0, vmax=100)
        for y, row in enumerate(values):
            for x, value in enumerate(row):
                ink = "black" if value > 60 else "white"
                panel.text(x, y, f"{value:.0f}", ha="center", va="center", fontsize=7, color=ink)
        panel.set_xticks(range(len(languages)), languages)
        panel.set_yticks(range(len(languages)), languages)
        panel.set_title(model, fontsize=9)
    figure.colorbar(image, ax=list(axes[0]), shrink=0.8, label="consistency (%)")
    return save_figure(figure, path, tight=False)
