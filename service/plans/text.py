"""A plan as a terminal table: one line a comparison, the total, and how each figure was had."""

from __future__ import annotations

from service.plans.model import MatrixPlan, RunPlan


def _tokens(plan: RunPlan) -> str:
    judge = sum(judge.prompt_tokens for judge in plan.judges)
    exact = plan.exact_generation_tokens and all(judge.exact_tokens for judge in plan.judges)
    return f"{plan.generation_prompt_tokens + judge:,}{'' if exact else ' ~'}"


def _price(plan: RunPlan) -> str:
    return "unknown" if plan.price is None else f"{plan.price:,.4f}"


def _seconds(plan: RunPlan) -> str:
    return "unknown" if plan.seconds is None else f"{plan.seconds:,.0f} s"


def _line(name: str, plan: RunPlan) -> str:
    return (
        f"| {name} | {plan.generations.needed:,} / {plan.generations.stored:,} | "
        f"{plan.judge_calls.needed:,} / {plan.judge_calls.stored:,} | {_tokens(plan)} | "
        f"{_price(plan)} | {_seconds(plan)} |"
    )


def plan_table(plan: MatrixPlan) -> str:
    """The plan as Markdown: needed / stored generations and judge calls, prompt tokens (`~`:
    some estimated), price and time per comparison, then the total and the notes."""
    lines = [
        "| comparison | generations needed / stored | judge calls needed / stored | "
        "prompt tokens | price | time |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [_line(f"{c.row} vs {c.baseline} · {c.language}", c.plan) for c in plan.cells]
    lines.append(_line("**total**", plan.total))
    total = plan.total
    if total.awaiting_generation:
        lines.append(
            f"\n{total.awaiting_generation:,} of the judge calls await responses not generated "
            "yet: counted two a judge a pair (at most; identical responses need none)"
        )
    lines += [""] + [f"- {note}" for note in total.notes]
    return "\n".join(lines) + "\n"
