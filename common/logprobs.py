"""Reading the next token's top log-probabilities from an OpenAI-compatible answer.

Judges read '1' / '2', multiple-choice answering reads option letters; both ask for one
greedy token with `top_logprobs` and compare labels after stripping whitespace (' A' is 'A').
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def next_token_request(chat: bool, top: int) -> dict[str, Any]:
    """Body fields asking for one greedy token and its `top` alternatives."""
    body: dict[str, Any] = {"temperature": 0.0, "max_tokens": 1}
    if chat:
        body |= {"logprobs": True, "top_logprobs": top}
    else:
        body["logprobs"] = top
    return body


def first_token_top(choice: Any, chat: bool) -> list[tuple[str, float]]:
    """(token, log-probability) of the first generated token's top alternatives.

    Raises KeyError / IndexError / TypeError when the answer has no log-probabilities.
    """
    if chat:
        entries = choice["logprobs"]["content"][0]["top_logprobs"]
        return [(entry["token"], float(entry["logprob"])) for entry in entries]
    return [(token, float(lp)) for token, lp in choice["logprobs"]["top_logprobs"][0].items()]


def best_by_label(top: Iterable[tuple[str, float]], labels: Iterable[str]) -> dict[str, float]:
    """The highest log-probability of each label among `top` (labels absent from it left out)."""
    wanted = set(labels)
    best: dict[str, float] = {}
    for token, logprob in top:
        label = token.strip()
        if label in wanted and logprob > best.get(label, float("-inf")):
            best[label] = logprob
    return best
