"""The work units of a recipe that the store does not hold yet.

A cell is the comparison request `sxs matrix` would send for it (`recipe.comparison_body`), and
its items are the ones the service would judge (`Comparisons.items`), so every unit is keyed
exactly as the service looks it up: a generation by `generation_key` (model identity,
sampling, seed, prompt format, instruction), a judge call by `judgment_key` (judge identity,
template, both answers in one order). Identical responses need no judge call, as in the
protocol; a pair whose responses are not both stored yet is `blocked`.
"""

from __future__ import annotations

from dataclasses import dataclass

from generators.client import GenerationRequest, generation_key
from judges.backends.base import JudgeCall, JudgeReply
from judges.cache import judgment_key
from judges.sxs import presentations
from service.batch.context import BatchContext
from service.jobs.requests import ComparisonRequest
from service.matrix.recipe import MatrixRecipe


@dataclass(frozen=True, slots=True)
class GenerationUnit:
    """One response to generate, stored under `key`."""

    key: str
    request: GenerationRequest


@dataclass(frozen=True, slots=True)
class JudgmentUnit:
    """One presentation for one configured judge, stored under `key`; `earlier` is the invalid
    reply of the attempts before this one (its tokens are paid for too)."""

    key: str
    judge: str
    call: JudgeCall
    earlier: JudgeReply | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """Units to submit, and how many the store holds already (`stored`) or cannot be planned
    yet (`blocked`: a pair whose responses are not both stored)."""

    generations: list[GenerationUnit]
    judgments: list[JudgmentUnit]
    stored_generations: int
    stored_judgments: int
    blocked_pairs: int


def cell_requests(recipe: MatrixRecipe) -> list[ComparisonRequest]:
    """The comparison request of every cell that needs one (the diagonal needs none)."""
    return [
        ComparisonRequest.model_validate(recipe.comparison_body(row, baseline, language))
        for row, baseline, language in recipe.comparisons()
        if row != baseline
    ]


def plan(context: BatchContext, requests: list[ComparisonRequest]) -> Plan:
    """What the store lacks for `requests`: every missing response, and every missing judge
    call over the pairs whose responses are stored. Errors of a request (unknown model, eval
    set or language, unknown judge) raise before anything is listed."""
    comparisons, registry = context.requests, context.registry
    cells = [(request, comparisons.items(request)) for request in requests]
    wanted: dict[str, GenerationRequest] = {}
    sides: dict[tuple[int, str], tuple[str, str]] = {}  # (cell, item) → keys of A and B
    for index, (request, items) in enumerate(cells):
        for item in items:
            keys = []
            for model in (request.model_a, request.model_b):
                generation = GenerationRequest(model, request.language, item.id, item.text)
                keys.append(key := generation_key(registry, generation))
                wanted.setdefault(key, generation)
            sides[(index, item.id)] = (keys[0], keys[1])
    stored = context.generation_cache.get_many(wanted)
    generations = [GenerationUnit(key, r) for key, r in wanted.items() if key not in stored]

    calls: dict[str, JudgmentUnit] = {}
    blocked = 0
    for index, (request, items) in enumerate(cells):
        names = comparisons.judge_names(request)
        for item in items:
            key_a, key_b = sides[(index, item.id)]
            a, b = stored.get(key_a), stored.get(key_b)
            if a is None or b is None:
                blocked += 1
                continue
            judged = item.pair(request.language, a.text, b.text)
            if judged.identical:
                continue
            for name in names:
                judge = context.judges[name]
                for call in presentations(judged, context.template):
                    key = judgment_key(
                        judge.identity, context.template.hash, call, judge.uses_reference
                    )
                    calls.setdefault(key, JudgmentUnit(key, name, call))
    judged_before = context.judgment_cache.get_many(calls)
    return Plan(
        generations=generations,
        judgments=[unit for key, unit in calls.items() if key not in judged_before],
        stored_generations=len(stored),
        stored_judgments=len(judged_before),
        blocked_pairs=blocked,
    )
