"""The work units of comparison requests that the store does not hold yet.

A matrix's cell is the comparison request `sxs matrix` would send for it
(`MatrixRecipe.cell_requests`), and its items are the ones the service would judge
(`ComparisonRequests.items`), so every unit is keyed
exactly as the service looks it up: a generation by `generation_key` (model identity,
sampling, seed, prompt format, instruction), a judge call by `judgment_key` (judge identity,
template, both answers in one order). Identical responses need no judge call, as in the
protocol; a pair whose responses are not both stored yet is `blocked`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from generators.cache import GenerationCache
from generators.client import GenerationRequest, generation_key
from judges.backends.base import JudgeCall, JudgeReply
from judges.cache import JudgmentCache, judgment_key
from judges.sxs import presentations
from service.jobs.comparison_requests import ComparisonRequests
from service.jobs.requests import ComparisonRequest


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
class Units:
    """Units to run, and how many the store holds already (`stored`) or cannot be keyed yet
    (`blocked`: a pair whose responses are not both stored, with its judges' count)."""

    generations: list[GenerationUnit]
    judgments: list[JudgmentUnit]
    stored_generations: int
    stored_judgments: int
    stored_keys: list[str]  # of the stored responses
    blocked_pairs: int
    # (judge, instruction) of each call a blocked pair will need: two a judge (at most: a pair
    # whose responses turn out identical needs none)
    blocked: list[tuple[str, str]] = field(default_factory=list)


def missing_units(
    comparisons: ComparisonRequests,
    generation_cache: GenerationCache,
    judgment_cache: JudgmentCache,
    requests: list[ComparisonRequest],
) -> Units:
    """What the store lacks for `requests`: every missing response, and every missing judge
    call over the pairs whose responses are stored. Errors of a request (unknown model, eval
    set or language, unknown judge) raise before anything is listed."""
    registry = comparisons.registry
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
    stored = generation_cache.get_many(wanted)
    generations = [GenerationUnit(key, r) for key, r in wanted.items() if key not in stored]

    calls: dict[str, JudgmentUnit] = {}
    blocked = 0
    blocked_calls: list[tuple[str, str]] = []
    for index, (request, items) in enumerate(cells):
        names = comparisons.judge_names(request)
        for item in items:
            key_a, key_b = sides[(index, item.id)]
            a, b = stored.get(key_a), stored.get(key_b)
            if a is None or b is None:
                blocked += 1
                blocked_calls += [(name, item.text) for name in names for _ in range(2)]
                continue
            judged = item.pair(request.language, a.text, b.text)
            if judged.identical:
                continue
            for name in names:
                judge, template = comparisons.judges[name], comparisons.template
                for call in presentations(judged, template):
                    key = judgment_key(judge.identity, template.hash, call, judge.uses_reference)
                    calls.setdefault(key, JudgmentUnit(key, name, call))
    judged_before = judgment_cache.get_many(calls)
    return Units(
        generations=generations,
        judgments=[unit for key, unit in calls.items() if key not in judged_before],
        stored_generations=len(stored),
        stored_keys=sorted(stored),
        stored_judgments=len(judged_before),
        blocked_pairs=blocked,
        blocked=blocked_calls,
    )
