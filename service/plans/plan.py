"""The plan of comparisons: what their run will do, before it runs, without a model or judge
call and without a job.

The units are the ones the run itself would find missing (`units.missing_units`, keyed as the
service keys them), so a plan's generations and judge calls are the run's: a rerun's plan says
0 and 0. Judge calls of a pair whose responses are not generated yet cannot be keyed: they are
counted as two a judge (at most: identical responses need none) and their prompts estimated.
Tokens are exact where the server tokenizes (`tokens`), the price comes from each judge's
configured prices (unknown, and said so, where a judge has none), and the time from the
throughput the store recorded in its last run (`throughput`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from common.openai_http import ClientSettings
from common.store import off_loop
from generators.cache import GenerationCache
from generators.client import generation_body
from judges.backends.factory import JudgeConfig
from judges.cache import JudgmentCache
from service.jobs.comparison_requests import ComparisonRequests
from service.jobs.requests import ComparisonRequest
from service.matrix.recipe import MatrixRecipe
from service.plans.judge_calls import judge_plan, price_of
from service.plans.model import (
    GenerationKeys,
    JudgePlan,
    MatrixPlan,
    Needed,
    RunPlan,
    matrix_plan,
    seconds_for,
)
from service.plans.throughput import recorded_rates
from service.plans.tokens import Prompt, count_tokens, estimated_tokens, server_root
from service.plans.units import Units, missing_units


@dataclass(frozen=True, slots=True)
class Planner:
    """Plans runs on one store: the service's request checks, its caches, the judges' settings
    and the generators' client (what the run itself would use)."""

    checker: ComparisonRequests
    generation_cache: GenerationCache
    judgment_cache: JudgmentCache
    judge_configs: Mapping[str, JudgeConfig]
    generator_client: ClientSettings

    async def comparisons(self, requests: list[ComparisonRequest]) -> RunPlan:
        """The plan of `requests` (each checked as a submission is)."""
        checker = self.checker
        # a request the run would refuse is refused here; each spec counts its items
        items = sum(checker.submission(request).total for request in requests)
        units = await off_loop(
            missing_units, checker, self.generation_cache, self.judgment_cache, requests
        )
        registry, notes = checker.registry, []
        generation_prompts = [
            Prompt(server_root(registry.served(unit.request.model).endpoints[0]),
                   generation_body(registry, unit.request), self.generator_client.api_key)
            for unit in units.generations
        ]  # fmt: skip
        generated = await count_tokens(generation_prompts)
        notes += [f"generation prompts: {line}" for line in generated.how]
        judges = [await _judge_plan(name, self.judge_configs.get(name), units, checker, notes)
                  for name in dict.fromkeys(u.judge for u in units.judgments)
                  | dict.fromkeys(name for name, _ in units.blocked)]  # fmt: skip
        calls = len(units.judgments) + len(units.blocked)
        rates = await off_loop(recorded_rates, self.generation_cache.path, notes)
        prompt_tokens = sum(judge.prompt_tokens for judge in judges)
        seconds = seconds_for(len(units.generations), calls, rates, notes, prompt_tokens)
        keys = [unit.key for unit in units.generations]
        return RunPlan(
            comparisons=len(requests),
            items=items,
            generations=Needed(needed=len(units.generations), stored=units.stored_generations),
            judge_calls=Needed(needed=calls, stored=units.stored_judgments),
            awaiting_generation=len(units.blocked),
            generation_prompt_tokens=generated.tokens,
            exact_generation_tokens=generated.is_exact,
            judges=judges,
            price=price_of(judges, notes),
            seconds=seconds,
            rates=rates,
            notes=notes,
            generation_keys=GenerationKeys(
                needed=dict(zip(keys, generated.each, strict=True)), stored=units.stored_keys
            ),
        )

    async def recipe(self, recipe: MatrixRecipe) -> MatrixPlan:
        """The plan of a recipe's matrix: each cell's, and their sum (the batch path's units:
        a response two cells share is made once)."""
        cells = [key for key in recipe.comparisons() if key[0] != key[1]]
        plans = [await self.comparisons([request]) for request in recipe.cell_requests()]
        return matrix_plan(cells, plans)


async def _judge_plan(
    name: str,
    config: JudgeConfig | None,
    units: Units,
    checker: ComparisonRequests,
    notes: list[str],
) -> JudgePlan:
    calls = [unit.call for unit in units.judgments if unit.judge == name]
    blocked = [instruction for judge, instruction in units.blocked if judge == name]
    return await judge_plan(
        name, config, calls, len(blocked), _awaiting_tokens(blocked, checker, notes, name), notes
    )


def _awaiting_tokens(
    instructions: list[str], checker: ComparisonRequests, notes: list[str], name: str
) -> int:
    """Estimated prompt tokens of judge calls whose responses are not generated yet: the
    template around the instruction, and two responses of the sampling's max_tokens."""
    if not instructions:
        return 0
    answer = checker.registry.sampling.max_tokens
    notes.append(
        f"judge {name}: {len(instructions)} calls await responses; their prompts are estimated "
        f"with two responses of max_tokens ({answer}) each: an upper bound"
    )
    return round(sum(estimated_tokens(checker.template.render(text, "", "")) + 2 * answer
                     for text in instructions))  # fmt: skip
