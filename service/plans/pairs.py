"""The plan of judging a pairs file (`sxs judge --plan`): both orders of every pair whose
responses differ, keyed as the judgment cache keys them; those stored need no call."""

from __future__ import annotations

from pathlib import Path

from judges.backends.base import Judge, JudgeCall
from judges.backends.factory import JudgeConfig
from judges.cache import JudgmentCache, judgment_key
from judges.pairs import Pair
from judges.prompts import JudgeTemplate
from judges.sxs import presentations
from service.plans.judge_calls import judge_plan, price_of
from service.plans.model import GenerationKeys, Needed, RunPlan, seconds_for
from service.plans.throughput import recorded_rates


async def plan_pairs(
    judge: Judge,
    config: JudgeConfig,
    template: JudgeTemplate,
    cache: JudgmentCache | None,
    pairs: list[Pair],
    store: Path,
) -> RunPlan:
    """What judging `pairs` with `judge` will do on this store (no cache: every call)."""
    calls: dict[str, JudgeCall] = {}
    for pair in pairs:
        if not pair.identical:
            for call in presentations(pair, template):
                key = judgment_key(judge.identity, template.hash, call, judge.uses_reference)
                calls.setdefault(key, call)
    stored = cache.get_many(calls) if cache is not None else {}
    needed = [call for key, call in calls.items() if key not in stored]
    notes: list[str] = []
    plan = await judge_plan(judge.identity, config, needed, 0, 0, notes)
    rates = recorded_rates(store, notes)
    seconds = seconds_for(0, len(needed), rates, notes, plan.prompt_tokens)
    return RunPlan(
        comparisons=1,
        items=len(pairs),
        generations=Needed(needed=0, stored=0),
        judge_calls=Needed(needed=len(needed), stored=len(stored)),
        awaiting_generation=0,
        generation_prompt_tokens=0,
        exact_generation_tokens=True,
        judges=[plan],
        price=price_of([plan], notes),
        seconds=seconds,
        rates=rates,
        notes=notes,
        generation_keys=GenerationKeys(needed={}, stored=[]),
    )
