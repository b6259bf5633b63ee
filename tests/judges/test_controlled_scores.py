"""Length- and language-controlled scores, through the real side-by-side protocol with a
scripted judge, in a Latin and a non-Latin script."""

from __future__ import annotations

import asyncio
import math
import random

import pytest

from judges.backends.base import JudgeCall
from judges.language_control import language_controlled
from judges.length_control import length_controlled_score
from judges.pairs import Pair
from judges.results import judged_pair
from judges.statistics import Summary, summarize
from judges.sxs import SideBySide
from judges.verdicts import Outcome
from tests.judges.scripted import ScriptedJudge, longer_wins

# One unit of content in each script: a Spanish word and its space, or one Chinese character.
# The same content is about six times longer in characters in Spanish.
UNITS = {"es": "hola ", "zh": "好"}
GOOD = "✓"  # marks the better response, for a judge that reads quality


def synthetic_pairs(script: str, n: int = 200, good_a: float = 0.5, seed: int = 1) -> list[Pair]:
    """A's responses are longer than B's most of the time (40–400 units against 20–250), and
    which one is better (marked GOOD) is drawn independently of length."""
    rng = random.Random(seed)
    unit = UNITS[script]
    pairs = []
    for index in range(n):
        a, b = unit * rng.randint(40, 400), unit * rng.randint(20, 250)
        if rng.random() < good_a:
            a = GOOD + a
        else:
            b = GOOD + b
        pairs.append(Pair(id=str(index), instruction="q", response_a=a, response_b=b))
    return pairs


def better_wins(call: JudgeCall) -> str:
    """Prefers the marked response, whatever the lengths."""
    return "1" if call.first.startswith(GOOD) else "2"


def judged(pairs: list[Pair], script: object) -> Summary:
    judge = ScriptedJudge(script)  # type: ignore[arg-type]
    results = asyncio.run(SideBySide(judge).run(pairs))
    return summarize([judged_pair(result) for result in results], length_samples=1000)


def within(value: float | None, low: float | None, high: float | None) -> bool:
    assert value is not None and low is not None and high is not None
    return low <= value <= high


@pytest.mark.parametrize("script", ["es", "zh"])
def test_a_judge_that_prefers_length_moves_the_raw_score_but_not_the_controlled_one(
    script: str,
) -> None:
    summary = judged(synthetic_pairs(script), longer_wins)
    assert summary.score is not None and summary.score > 70  # A is longer in ~80% of pairs
    assert summary.ci_low is not None and summary.ci_low > 60
    assert within(50.0, summary.length_controlled_ci_low, summary.length_controlled_ci_high)
    assert summary.length_controlled is not None and abs(summary.length_controlled - 50) < 12


@pytest.mark.parametrize("script", ["es", "zh"])
def test_when_the_judge_ignores_length_both_scores_agree(script: str) -> None:
    summary = judged(synthetic_pairs(script, good_a=0.7), better_wins)
    assert summary.score is not None and 60 < summary.score < 80
    assert within(
        summary.score, summary.length_controlled_ci_low, summary.length_controlled_ci_high
    )
    assert within(summary.length_controlled, summary.ci_low, summary.ci_high)


def test_the_length_unit_is_fair_across_scripts() -> None:
    """The same contents in Spanish and Chinese (six times fewer characters) give the same
    length-controlled score."""
    spanish = judged(synthetic_pairs("es", good_a=0.6, seed=3), longer_wins)
    chinese = judged(synthetic_pairs("zh", good_a=0.6, seed=3), longer_wins)
    assert spanish.length_controlled == pytest.approx(chinese.length_controlled, abs=1.0)


def test_the_length_unit_is_fair_within_a_comparison_that_mixes_scripts() -> None:
    """One comparison whose pairs are Spanish (six characters a unit of content, either answer
    longer) or Chinese (one a unit, B longer by 1.5–3×) by turns, as when answers leave the
    instruction's script. The judge prefers the relatively longer answer, P(A) = σ(3 ln(a/b))
    in units of content, and is indifferent at equal length: the score at equal length is 50.
    A unit that counts characters (|A| - |B| for ln ratio) puts the Chinese pairs, which A
    mostly loses, near "equal length" and the score near 30: standardizing cannot undo a scale
    that differs within one comparison."""
    rng = random.Random(0)
    outcomes, lengths_a, lengths_b = [], [], []
    for index in range(400):
        if index % 2:
            a, b, chars = rng.randint(40, 400), rng.randint(40, 400), 6
        else:
            a = rng.randint(40, 200)
            b, chars = int(a * rng.uniform(1.5, 3.0)), 1
        wins = 1 / (1 + math.exp(-3 * math.log(a / b)))
        outcomes.append(1.0 if rng.random() < wins else 0.0)
        lengths_a.append(a * chars)
        lengths_b.append(b * chars)
    controlled = length_controlled_score(outcomes, lengths_a, lengths_b, samples=200)
    assert controlled is not None and abs(controlled.score - 50) < 12
    assert controlled.ci_low < 50 < controlled.ci_high


def test_length_control_needs_pairs_and_varied_lengths() -> None:
    assert length_controlled_score([1.0] * 4, [10] * 4, [5] * 4) is None
    assert length_controlled_score([1.0, 0.0] * 5, [10] * 10, [5] * 10) is None  # one ratio
    with pytest.raises(ValueError, match="one outcome and two lengths"):
        length_controlled_score([1.0], [1, 2], [1])


def test_language_policy_outcomes() -> None:
    assert language_controlled(Outcome.WIN, False, True) is Outcome.LOSS
    assert language_controlled(Outcome.LOSS, True, False) is Outcome.WIN
    assert language_controlled(Outcome.TIE, False, False) is Outcome.TIE
    assert language_controlled(Outcome.TIE, True, True) is Outcome.TIE
    assert language_controlled(Outcome.INVALID, False, True) is Outcome.INVALID


def test_pairs_of_one_length_ratio_leave_the_length_controlled_score_undefined() -> None:
    """Every pair with the same ratio of lengths: nothing to fit a slope on, so no score (the
    variance once came out as a rounding error of E[x²] − E[x]², 1e-9, and the fit divided by
    it)."""
    outcomes = [1.0, 0.0, 1.0, 0.5, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0]
    assert length_controlled_score(outcomes, [110] * 10, [100] * 10) is None
