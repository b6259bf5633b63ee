"""What the batch path checks before it submits a unit: that it can send every judge the
recipe uses, and (when there is work) that every backend answers now."""

from __future__ import annotations

from collections.abc import Iterable

from judges.backends.base import LOCAL
from service.batch.context import BatchContext
from service.batch.errors import BatchInputError
from service.jobs.health import OK, probe_judge
from service.jobs.requests import ComparisonRequest
from service.plans.units import Units

HTTP_JUDGES = ("openai",)  # sent through Ray's HTTP processor
LOCAL_JUDGES = ("reference",)  # run in Ray tasks


def check_backends(context: BatchContext, work: Units, judges: Iterable[str], engine: bool) -> None:
    """The endpoints of the models and judges with units to run answer now, else a
    `BatchInputError` naming the first that does not (nothing is submitted). In the engine
    mode the models run in Ray: there are no endpoints to check."""
    import asyncio

    if engine:
        return
    models = {unit.request.model for unit in work.generations}
    generators, judged = asyncio.run(_probe(context, models, list(judges)))
    problems = [f"generator {url}: {state}" for url, state in generators.items() if state != OK]
    problems += [f"judge {name!r}: {state}" for name, state in judged.items()
                 if state not in (OK, LOCAL)]  # fmt: skip
    if problems:
        more = f" ({len(problems) - 1} more)" if len(problems) > 1 else ""
        raise BatchInputError(
            f"{problems[0]}{more}; nothing was submitted: start it (sxs generators serve, the "
            "judge's server) or fix its address, then run again"
        )


async def _probe(
    context: BatchContext, models: set[str], judges: list[str]
) -> tuple[dict[str, str], dict[str, str]]:
    try:
        generators = await context.health.generators(sorted(models))
        probes = {name: await probe_judge(context.judges[name], 30.0) for name in judges}
        return generators, probes
    finally:
        await context.health.aclose()
        for judge in context.judges.values():
            await judge.aclose()


def sendable_judges(
    context: BatchContext, requests: list[ComparisonRequest], engine: bool
) -> list[str]:
    """The judges the cells use, each one the path can send, else a `BatchInputError`."""
    names = list(dict.fromkeys(
        name for request in requests for name in context.requests.judge_names(request)
    ))  # fmt: skip
    for name in names:
        kind = context.judge_configs[name].kind
        if kind not in HTTP_JUDGES + LOCAL_JUDGES:
            raise BatchInputError(
                f"judge {name!r} is a {kind} judge: the batch path sends judge calls to "
                "OpenAI-compatible servers (kind openai) or runs them in Ray tasks (kind "
                "reference); configure such a judge for the recipe"
            )
        config = context.judge_configs[name]
        model = getattr(config, "model", None)
        if engine and kind in HTTP_JUDGES and model not in context.registry.names():
            raise BatchInputError(
                f"judge {name!r} asks model {model!r}, which the registry does not hold: in the "
                "engine mode a judge model runs in the engines, so it must be the base model or "
                "an adapter of the registry (such as a distilled judge); or use --mode http"
            )
    return names
