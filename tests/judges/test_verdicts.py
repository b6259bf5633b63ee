import pytest

from judges.verdicts import Outcome, Verdict, outcome_of, parse_verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("1", Verdict.FIRST),
        ("2", Verdict.SECOND),
        (" 2\n", Verdict.SECOND),
        ("12", None),
        ("3", None),
        ("Answer1", None),
        ("1.", None),
        ("", None),
        ("１", None),
    ],
)
def test_parsing_is_strict(text: str, verdict: Verdict | None) -> None:
    assert parse_verdict(text) is verdict


@pytest.mark.parametrize(
    ("ab", "ba", "outcome"),
    [
        (Verdict.FIRST, Verdict.SECOND, Outcome.WIN),  # A shown first, then second: A both times
        (Verdict.SECOND, Verdict.FIRST, Outcome.LOSS),  # B picked in both orders
        (Verdict.FIRST, Verdict.FIRST, Outcome.TIE),  # always Answer1: the orders disagree
        (Verdict.SECOND, Verdict.SECOND, Outcome.TIE),  # always Answer2
        (None, Verdict.FIRST, Outcome.INVALID),
        (Verdict.FIRST, None, Outcome.INVALID),
    ],
)
def test_outcome_of_the_two_orders(
    ab: Verdict | None, ba: Verdict | None, outcome: Outcome
) -> None:
    assert outcome_of(ab, ba) is outcome


def test_discounted_tie_scores() -> None:
    assert [o.score for o in Outcome] == [1.0, 0.5, 0.0, None]
