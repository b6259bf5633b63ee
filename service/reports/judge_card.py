"""A judge's report card written as the matrices are: card.json, card.md and card.png in one
folder, each replaced atomically."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from common.files import write_text_atomically
from judges.agreement import Share
from judges.report_card import ReportCard
from service.reports.figures import pyplot, save_figure


def _share(share: Share) -> str:
    return f"{share.percent:.1f}% [{share.ci_low:.1f}, {share.ci_high:.1f}] (n = {share.n:,})"


def _or_gap(value: float | None, unit: str = "%") -> str:
    return "—" if value is None else f"{value:.1f}{unit}"


def card_markdown(card: ReportCard) -> str:
    """The card as a Markdown page (what `sxs judges report` prints)."""
    lines = [
        f"# Judge report card: {card.judge} against {card.labels}",
        "",
        "| measure | value |",
        "|---|---|",
        f"| agreement (Appendix D, 95% CI) | {_share(card.agreement)} |",
        f"| Cohen's kappa | {'—' if card.kappa is None else f'{card.kappa:.3f}'} |",
        f"| invalid | {card.invalid:,} pairs ({card.invalid_rate:.1f}%) |",
    ]
    if card.behaviour is not None:
        lines += [
            f"| first-position preference | {_or_gap(card.behaviour.first_position_preference)} "
            "(50: none) |",
            f"| order consistency | {_or_gap(card.behaviour.order_consistency)} |",
        ]
    if card.length is not None:
        length = card.length
        slope, ci = length.slope, length.slope_ci
        slope_text = "—" if slope is None or ci is None else (
            f"{slope:+.2f} [{ci[0]:+.2f}, {ci[1]:+.2f}]")  # fmt: skip
        lines += [
            f"| longer answer wins (judge / labels) | {length.judge_longer_wins:.1f}% / "
            f"{_or_gap(length.labels_longer_wins)} over {length.pairs:,} decisive pairs |",
            f"| length slope (logit per ln ratio, 95% CI) | {slope_text} |",
        ]
    if card.self_preference is not None:
        own = card.self_preference
        lines.append(
            f"| self-preference ({own.model}) | {own.excess:+.1f} points: judge "
            f"{own.judge_score:.1f} vs labels {own.labels_score:.1f} over {own.pairs:,} pairs |"
        )
    if card.cost is not None:
        cost = card.cost
        price = "" if cost.price_per_1000 is None else f", price {cost.price_per_1000:,.4f}"
        lines.append(
            f"| per 1,000 pairs | {cost.prompt_tokens_per_1000:,.0f} prompt + "
            f"{cost.completion_tokens_per_1000:,.0f} completion tokens{price} |"
        )
    if card.by_language:
        lines += ["", "## Agreement by language", "", "| language | agreement |", "|---|---|"]
        lines += [f"| {name} | {_share(share)} |" for name, share in card.by_language.items()]
    if card.gaps:
        lines += ["", "## Not measured", ""] + [f"- {gap}" for gap in card.gaps]
    return "\n".join(lines) + "\n"


def card_figure(card: ReportCard, path: Path) -> Path:
    """Agreement per language (and overall) with its CI; position and length bias beside."""
    plt = pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), width_ratios=[3, 2])
    shares = {"all": card.agreement} | card.by_language
    names = list(shares)
    values = [shares[name].percent for name in names]
    errors = [[v - shares[n].ci_low for n, v in zip(names, values, strict=True)],
              [shares[n].ci_high - v for n, v in zip(names, values, strict=True)]]  # fmt: skip
    left.bar(names, values, yerr=errors, capsize=3, color=["#444"] + ["#4a7"] * (len(names) - 1))
    left.set_ylim(0, 100)
    left.set_ylabel("agreement (%)")
    left.set_title(f"{card.judge} vs {card.labels}")
    biases: dict[str, float] = {}
    if card.behaviour is not None and card.behaviour.first_position_preference is not None:
        biases["first position"] = card.behaviour.first_position_preference
    if card.length is not None:
        biases["longer (judge)"] = card.length.judge_longer_wins
        if card.length.labels_longer_wins is not None:
            biases["longer (labels)"] = card.length.labels_longer_wins
    right.bar(list(biases), list(biases.values()), color="#a64")
    right.axhline(50, color="#888", linewidth=1, linestyle="--")
    right.set_ylim(0, 100)
    right.set_ylabel("preferred (%)")
    right.set_title("position and length bias" if biases else "no bias measurable")
    return save_figure(figure, path)


def render_card(card: ReportCard, out: Path) -> list[Path]:
    """card.json, card.md and card.png into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomically(out / "card.json", json.dumps(asdict(card), indent=2) + "\n")
    write_text_atomically(out / "card.md", card_markdown(card))
    return [out / "card.json", out / "card.md", card_figure(card, out / "card.png")]
