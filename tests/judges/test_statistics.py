import pytest

from judges.statistics import JudgedPair, bootstrap_interval, summarize
from judges.verdicts import Outcome, Verdict

F, S = Verdict.FIRST, Verdict.SECOND


def test_summary_of_a_hand_made_set() -> None:
    pairs = [
        JudgedPair(Outcome.WIN, F, S),
        JudgedPair(Outcome.WIN, F, S),
        JudgedPair(Outcome.LOSS, S, F),
        JudgedPair(Outcome.TIE, F, F),
        JudgedPair(Outcome.TIE, identical=True),
        JudgedPair(Outcome.INVALID, None, F),
    ]
    summary = summarize(pairs)
    assert (summary.pairs, summary.wins, summary.ties, summary.losses) == (6, 2, 2, 1)
    assert (summary.invalid, summary.identical) == (1, 1)
    # (1 + 1 + 0 + 0.5 + 0.5) / 5 valid pairs
    assert summary.score == pytest.approx(60.0)
    # judged in both orders and valid: 4 pairs, 3 of them a win or a loss
    assert summary.order_consistency == pytest.approx(75.0)
    # valid verdicts: F S F S S F F F F -> 6 of 9 chose Answer1
    assert summary.first_position_preference == pytest.approx(100 * 6 / 9)
    assert summary.score is not None
    assert summary.ci_low is not None and summary.ci_high is not None
    assert summary.ci_low <= summary.score <= summary.ci_high


def test_bootstrap_is_seeded_and_narrows_with_more_data() -> None:
    scores = [100.0, 0.0, 50.0, 100.0] * 5
    assert bootstrap_interval(scores, seed=3) == bootstrap_interval(scores, seed=3)
    # few resamples: the seed shows in the interval
    assert bootstrap_interval(scores, samples=30, seed=3) != bootstrap_interval(
        scores, samples=30, seed=4
    )
    small = bootstrap_interval(scores)
    large = bootstrap_interval(scores * 20)
    assert small is not None and large is not None
    assert large[1] - large[0] < small[1] - small[0]
    assert small[0] < 62.5 < small[1]


def test_a_constant_score_has_a_degenerate_interval() -> None:
    assert bootstrap_interval([100.0] * 30) == (100.0, 100.0)


def test_nothing_valid_gives_no_score() -> None:
    summary = summarize([JudgedPair(Outcome.INVALID, None, None)])
    assert (summary.score, summary.ci_low, summary.order_consistency) == (None, None, None)
    assert summary.first_position_preference is None
