"""What judging costs: tokens as the judge's API reports them, and a price estimate.

Every judge reply carries the prompt and completion tokens its server reported in `usage`
(summed over the attempts that produced it: a parse retry is paid too). A comparison's usage
is the sum over the replies it rests on, whether they were asked now or taken from the
judgment cache: what the comparison costs, not what this run paid. Replies whose server
reported no usage (local judges, a server without `usage`) are counted apart, so a total is
never silently short.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field


class JudgePrices(BaseModel):
    """A judge's per-token prices, in a currency of your choice (USD in the docs), per million
    tokens. A batch API's discount is given here, as the batch prices."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt_per_million: float = Field(ge=0, description="price of a million prompt tokens")
    completion_per_million: float = Field(ge=0, description="price of a million completion tokens")


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Judge tokens over some replies: `replies` with a reported usage, their prompt and
    completion tokens, and `unreported` replies whose server said nothing of usage."""

    replies: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    unreported: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.replies + other.replies,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.unreported + other.unreported,
        )

    def cost(self, prices: JudgePrices | None) -> float | None:
        """The estimated price of these tokens; None without prices."""
        if prices is None:
            return None
        return (
            self.prompt_tokens * prices.prompt_per_million
            + self.completion_tokens * prices.completion_per_million
        ) / 1e6


def cost_text(usage: TokenUsage, cost: float | None) -> str:
    """A price estimate as a reader must see it: a lower bound, said so, when some replies
    reported no usage ("≥ 0.0123, 864 replies without usage"); empty without a price."""
    if cost is None:
        return ""
    if usage.unreported:
        return f"≥ {cost:,.4f} ({usage.unreported:,} replies without usage, not priced)"
    return f"{cost:,.4f}"


def reply_usage(prompt_tokens: int | None, completion_tokens: int | None) -> TokenUsage:
    """The usage of one reply (unreported when the server gave no prompt tokens)."""
    if prompt_tokens is None:
        return TokenUsage(unreported=1)
    return TokenUsage(1, prompt_tokens, completion_tokens or 0)


def total(usages: Iterable[TokenUsage]) -> TokenUsage:
    """The sum of `usages`."""
    found = TokenUsage()
    for usage in usages:
        found += usage
    return found
