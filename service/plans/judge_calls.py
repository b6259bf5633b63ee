"""One judge's share of a plan: its calls' prompt tokens (exact through its server's /tokenize,
else estimated), their completion tokens at most (the calls' own max_tokens) and the price
from its configured prices (None when it has none)."""

from __future__ import annotations

from judges.backends.base import JudgeCall
from judges.backends.factory import JudgeConfig
from judges.backends.openai import JudgeModelConfig, judge_request
from service.plans.model import JudgePlan
from service.plans.tokens import Prompt, count_tokens, server_root


async def judge_plan(
    name: str,
    config: JudgeConfig | None,
    calls: list[JudgeCall],
    awaiting: int,
    awaiting_tokens: int,
    notes: list[str],
) -> JudgePlan:
    """The plan of `calls` to judge `name`, and of `awaiting` calls not renderable yet (their
    responses are not generated) of `awaiting_tokens` estimated prompt tokens in all."""
    total = len(calls) + awaiting
    if not isinstance(config, JudgeModelConfig):  # a local judge: no server, no tokens
        notes.append(f"judge {name}: computed here, no tokens")
        return JudgePlan(judge=name, calls=total, prompt_tokens=0, completion_tokens=0,
                         exact_tokens=True, price=0.0)  # fmt: skip
    api_key = config.api_key.get_secret_value() if config.api_key is not None else None
    root = server_root(config.base_urls[0])
    bodies = [judge_request(config, call.prompt, attempt=1) for call in calls]
    counted = await count_tokens([Prompt(root, body, api_key) for body in bodies])
    notes += [f"judge {name} prompts: {line}" for line in counted.how]
    completion = int(judge_request(config, "", attempt=1).get("max_tokens") or 0) * total
    prompt = counted.tokens + awaiting_tokens
    price = None
    if config.prices is not None:
        price = (prompt * config.prices.prompt_per_million
                 + completion * config.prices.completion_per_million) / 1e6  # fmt: skip
    return JudgePlan(
        judge=name,
        calls=total,
        prompt_tokens=prompt,
        completion_tokens=completion,
        exact_tokens=counted.is_exact and not awaiting,
        price=price,
    )


def price_of(judges: list[JudgePlan], notes: list[str]) -> float | None:
    """The judges' total price; None, said in `notes`, when some judge has no prices."""
    unpriced = [judge.judge for judge in judges if judge.price is None]
    if unpriced:
        notes.append(f"price unknown: no prices configured for {', '.join(unpriced)}")
        return None
    return sum(judge.price or 0.0 for judge in judges)
