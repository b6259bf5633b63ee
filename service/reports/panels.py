"""A judge panel's tables: each judge's own statistics and the judges' kappas, for the
terminal (`sxs compare`) and for matrix.md."""

from __future__ import annotations

from judges.statistics import PanelSummary
from service.matrix.results import MatrixResults

JUDGE_HEADERS = [
    "judge",
    "score [95% CI]",
    "W / T / L",
    "invalid",
    "order consistency",
    "first position",
]


def score_with_ci(value: float | None, low: float | None, high: float | None) -> str:
    """`62.5 [40.0, 80.0]`; `—` without a score."""
    if value is None:
        return "—"
    return f"{value:.1f}" + ("" if low is None or high is None else f" [{low:.1f}, {high:.1f}]")


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"


def _kappa(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.2f}"


def judge_rows(panel: PanelSummary) -> list[list[str]]:
    """A row per judge, under `JUDGE_HEADERS`."""
    return [
        [
            judge.judge,
            score_with_ci(judge.score, judge.ci_low, judge.ci_high),
            f"{judge.wins} / {judge.ties} / {judge.losses}",
            str(judge.invalid),
            _percent(judge.order_consistency),
            _percent(judge.first_position_preference),
        ]
        for judge in panel.judges
    ]


def agreement_lines(panel: PanelSummary) -> list[str]:
    """The panel's kappas and its orders without a majority, a line each."""
    fleiss = panel.fleiss_kappa
    lines = [f"Fleiss' kappa {_kappa(fleiss.kappa)} over the {fleiss.pairs} pairs every judge "
             "judged validly"]  # fmt: skip
    lines += [
        f"Cohen's kappa {pair.judge_1} – {pair.judge_2}: {_kappa(pair.kappa)} ({pair.pairs} pairs)"
        for pair in panel.cohen_kappa
    ]
    lines.append(
        f"orders without a majority (their pairs invalid): {panel.orders_without_majority}"
    )
    return lines


def panel_markdown(results: MatrixResults) -> str:
    """A section per cell judged by a panel; empty when none was."""
    parts = []
    for cell in results.cells:
        if cell.panel is None:
            continue
        table = ["| " + " | ".join(JUDGE_HEADERS) + " |", "|---|" + "---:|" * 5]
        table += ["| " + " | ".join(row) + " |" for row in judge_rows(cell.panel)]
        notes = [f"- {line}" for line in agreement_lines(cell.panel)]
        title = f"### {cell.row} vs {cell.baseline} · {cell.language}"
        parts.append("\n".join([title, "", *table, "", *notes]) + "\n")
    if not parts:
        return ""
    intro = (
        "## Judge panels\n\nEach order's verdict is the majority of the judges' valid "
        "verdicts; an order without one makes its pair invalid (judges/panel.py). Below, each "
        "judge's own score as if it had judged alone, and the judges' agreement beyond chance "
        "over each pair's outcome (judges/kappas.py).\n\n"
    )
    return intro + "\n".join(parts)
