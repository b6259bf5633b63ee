"""A run's plan as data (what POST /v1/comparisons answers to a dry run, what `--plan --json`
prints), and the sum of several plans that may share responses (a matrix's cells share their
baseline's): each response is counted once, by its content key."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field


class Needed(BaseModel):
    """Units a run needs: `needed` to make, `stored` found in the store."""

    needed: int
    stored: int


class JudgePlan(BaseModel):
    """One judge's share of a plan."""

    judge: str
    calls: int = Field(description="judge calls to make (a pair awaiting responses: two)")
    prompt_tokens: int
    completion_tokens: int = Field(description="at most: the calls' max_tokens")
    exact_tokens: bool = Field(description="every prompt counted by the judge's server")
    price: float | None = Field(description="null: the judge has no prices configured")


class Rates(BaseModel):
    """The throughput the store recorded in its last run, per second (null: none recorded)."""

    generations: float | None
    judgments: float | None
    judge_prompt_tokens: float | None = None


class GenerationKeys(BaseModel):
    """The content keys of a plan's responses: those to generate, with their prompt tokens, and
    those stored (so that plans sharing responses sum without counting one twice)."""

    needed: dict[str, int]
    stored: list[str]


class RunPlan(BaseModel):
    """What a run will do (`service.plans.plan`)."""

    comparisons: int
    items: int
    generations: Needed
    judge_calls: Needed
    awaiting_generation: int = Field(
        description="judge calls of pairs whose responses are not stored yet (in judge_calls)"
    )
    generation_prompt_tokens: int
    exact_generation_tokens: bool = Field(description="every prompt counted by its server")
    judges: list[JudgePlan]
    price: float | None = Field(description="null when some judge's price is unknown")
    seconds: float | None = Field(description="null when the store has no throughput recorded")
    rates: Rates
    notes: list[str] = Field(description="how each figure was had, and what is unknown")
    generation_keys: GenerationKeys


def seconds_for(
    generations: int,
    calls: int,
    rates: Rates,
    notes: list[str] | None = None,
    prompt_tokens: int | None = None,
) -> float | None:
    """The time of `generations` and of `calls` (of `prompt_tokens` in all, where known: a
    judge call's time follows its prompt) at `rates`; None where a rate needed is unknown (said
    in `notes`, when given)."""
    seconds = 0.0
    if calls and prompt_tokens and rates.judge_prompt_tokens:
        seconds, calls = prompt_tokens / rates.judge_prompt_tokens, 0
    for count, rate, what in ((generations, rates.generations, "responses"),
                              (calls, rates.judgments, "judge replies")):  # fmt: skip
        if count:
            if rate is None:
                if notes is not None:
                    notes.append(f"time unknown: this store recorded no run of {what} to time")
                return None
            seconds += count / rate
    return seconds


def combined(plans: Sequence[RunPlan]) -> RunPlan:
    """The plan of running `plans` together: a response several need is generated once."""
    needed: dict[str, int] = {}
    stored: set[str] = set()
    for plan in plans:
        needed |= plan.generation_keys.needed
        stored |= set(plan.generation_keys.stored)
    judges: dict[str, JudgePlan] = {}
    for judge in (judge for plan in plans for judge in plan.judges):
        known = judges.get(judge.judge)
        judges[judge.judge] = judge if known is None else JudgePlan(
            judge=judge.judge,
            calls=known.calls + judge.calls,
            prompt_tokens=known.prompt_tokens + judge.prompt_tokens,
            completion_tokens=known.completion_tokens + judge.completion_tokens,
            exact_tokens=known.exact_tokens and judge.exact_tokens,
            price=None if None in (known.price, judge.price)
            else (known.price or 0.0) + (judge.price or 0.0),
        )  # fmt: skip
    calls = sum(plan.judge_calls.needed for plan in plans)
    prompt_tokens = sum(judge.prompt_tokens for judge in judges.values())
    rates = plans[0].rates if plans else Rates(generations=None, judgments=None)
    prices = [judge.price for judge in judges.values()]
    return RunPlan(
        comparisons=sum(plan.comparisons for plan in plans),
        items=sum(plan.items for plan in plans),
        generations=Needed(needed=len(needed), stored=len(stored)),
        judge_calls=Needed(needed=calls, stored=sum(plan.judge_calls.stored for plan in plans)),
        awaiting_generation=sum(plan.awaiting_generation for plan in plans),
        generation_prompt_tokens=sum(needed.values()),
        exact_generation_tokens=all(plan.exact_generation_tokens for plan in plans),
        judges=list(judges.values()),
        price=None if None in prices else sum(price or 0.0 for price in prices),
        seconds=seconds_for(len(needed), calls, rates, None, prompt_tokens),
        rates=rates,
        notes=list(dict.fromkeys(note for plan in plans for note in plan.notes)),
        generation_keys=GenerationKeys(needed=needed, stored=sorted(stored)),
    )


class CellPlan(BaseModel):
    """One comparison's plan within a matrix or a batch run."""

    row: str
    baseline: str
    language: str
    plan: RunPlan


class MatrixPlan(BaseModel):
    """Every comparison's plan and their sum (`combined`)."""

    cells: list[CellPlan]
    total: RunPlan


def matrix_plan(cells: Sequence[tuple[str, str, str]], plans: Sequence[RunPlan]) -> MatrixPlan:
    """The plan of cells (row, baseline, language) from each one's plan, with their sum."""
    return MatrixPlan(
        cells=[CellPlan(row=row, baseline=baseline, language=language, plan=plan)
               for (row, baseline, language), plan in zip(cells, plans, strict=True)],
        total=combined(plans),
    )  # fmt: skip
