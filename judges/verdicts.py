"""Verdicts of one judge call, and the outcome of a pair from its two orders."""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    """Which answer the judge preferred, by position in the prompt."""

    FIRST = "1"
    SECOND = "2"


class Order(StrEnum):
    """How a pair (A, B) is shown: A as Answer1 (`AB`) or B as Answer1 (`BA`)."""

    AB = "ab"
    BA = "ba"


class Outcome(StrEnum):
    """The result of a pair for model A; `INVALID` pairs are excluded from the score."""

    WIN = "win"
    TIE = "tie"
    LOSS = "loss"
    INVALID = "invalid"

    @property
    def score(self) -> float | None:
        """Discounted-tie score: win 1, tie 0.5, loss 0; None for invalid."""
        return _SCORES[self]


_SCORES = {Outcome.WIN: 1.0, Outcome.TIE: 0.5, Outcome.LOSS: 0.0, Outcome.INVALID: None}


def parse_verdict(text: str) -> Verdict | None:
    """Strict parse: the whole output, stripped of whitespace, is '1' or '2'; else None."""
    stripped = text.strip()
    if stripped == "1":
        return Verdict.FIRST
    if stripped == "2":
        return Verdict.SECOND
    return None


def picked_a(order: Order, verdict: Verdict) -> bool:
    """Whether `verdict`, given on a prompt in `order`, picks response A."""
    return (verdict is Verdict.FIRST) == (order is Order.AB)


def outcome_of(ab: Verdict | None, ba: Verdict | None) -> Outcome:
    """Outcome for A: a win if A is picked in both orders, a loss if B is, else a tie."""
    if ab is None or ba is None:
        return Outcome.INVALID
    a_in_ab, a_in_ba = picked_a(Order.AB, ab), picked_a(Order.BA, ba)
    if a_in_ab and a_in_ba:
        return Outcome.WIN
    if not a_in_ab and not a_in_ba:
        return Outcome.LOSS
    return Outcome.TIE
