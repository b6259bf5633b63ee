"""A panel of judges: each order's verdict is the majority of the judges' valid verdicts.

Every judge runs the side-by-side protocol on its own (`judges.sxs`: both orders, through the
judgment cache under its own identity, so adding a judge to a panel costs only that judge's
calls). Per order, the panel's verdict is the one given by more than half of the valid
verdicts; a judge without a valid verdict abstains (one valid verdict is a majority of one).
With no valid verdict, or as many for Answer1 as for Answer2, the order has no majority and
the pair is invalid: excluded from the score like any invalid pair, never made a tie (a tie is
what two orders that disagree give). The pair's outcome then follows from the two majority
verdicts as for one judge (`judges.verdicts.outcome_of`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from judges.pairs import Pair
from judges.sxs import JudgedCall, PairResult
from judges.verdicts import Outcome, Verdict, outcome_of


def majority(verdicts: Iterable[Verdict | None]) -> Verdict | None:
    """The verdict given by more than half of the valid ones; None without one."""
    counts = Counter(verdict for verdict in verdicts if verdict is not None)
    total = sum(counts.values())
    return next((verdict for verdict, n in counts.items() if 2 * n > total), None)


@dataclass(frozen=True, slots=True)
class PanelResult:
    """The panel's outcome for A of one pair and every judge's own result, by judge name
    (the majority verdicts are derived from them where needed, `judges.results`)."""

    pair: Pair
    outcome: Outcome
    votes: Mapping[str, PairResult]

    @property
    def identical(self) -> bool:
        """Whether the pair was a tie by identity, with no judge call."""
        return self.pair.identical

    @property
    def calls(self) -> list[JudgedCall]:
        """Every judge's calls for the pair."""
        return [call for vote in self.votes.values() for call in vote.calls]


def panel_result(votes: Mapping[str, PairResult]) -> PanelResult:
    """The panel's result from its judges' results for one pair (at least two)."""
    if len(votes) < 2:
        raise ValueError("a panel needs at least two judges")
    pair = next(iter(votes.values())).pair
    if pair.identical:
        return PanelResult(pair, Outcome.TIE, votes)
    ab = majority(vote.ab.verdict if vote.ab is not None else None for vote in votes.values())
    ba = majority(vote.ba.verdict if vote.ba is not None else None for vote in votes.values())
    return PanelResult(pair, outcome_of(ab, ba), votes)
