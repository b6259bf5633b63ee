"""Consistency metrics against hand-computed values, edge cases included."""

from __future__ import annotations

import pytest

from judges.errors import ConsistencyError
from judges.mcq_metrics import (
    ac3,
    accuracy,
    agreement,
    chance_accuracy,
    consistency,
    consistency_report,
    en_co,
    pairwise_consistency,
    rescaled_accuracy,
    xrr,
)

RIGHT = {"1": 0, "2": 1, "3": 2, "4": 3}
# item:        1  2  3     4
ANSWERS: dict[str, dict[str, int | None]] = {
    "en": {"1": 0, "2": 1, "3": 2, "4": 0},  # right on 1, 2, 3
    "fi": {"1": 0, "2": 1, "3": 0, "4": 0},  # right on 1, 2
    "sw": {"1": 1, "2": 1, "3": 0, "4": None},  # right on 2
}


def test_accuracy_and_agreement_by_hand() -> None:
    assert accuracy(ANSWERS, RIGHT, "en") == 0.75
    assert accuracy(ANSWERS, RIGHT, "sw") == 0.25  # no answer is wrong
    assert agreement(ANSWERS, ["en", "fi"]) == 0.75  # items 1, 2, 4
    assert agreement(ANSWERS, ["fi", "sw"]) == 0.5  # items 2, 3
    assert agreement(ANSWERS, ["en", "sw"]) == 0.25  # item 2
    assert agreement(ANSWERS, ["en", "fi", "sw"]) == 0.25  # item 2 only


def test_consistency_over_subsets() -> None:
    languages = ["en", "fi", "sw"]
    assert consistency(ANSWERS, languages, 3) == 0.25
    assert consistency(ANSWERS, languages, 2) == pytest.approx((0.75 + 0.25 + 0.5) / 3)
    # s = 1: each language agrees with itself on every answered item; sw's missing item 4 not
    assert consistency(ANSWERS, languages, 1) == pytest.approx((1 + 1 + 0.75) / 3)
    assert consistency(ANSWERS, ["en"], 1) == 1.0  # a single language
    with pytest.raises(ConsistencyError, match=r"s = 4 needs 1 ≤ s ≤ the number of languages"):
        consistency(ANSWERS, languages, 4)
    matrix = pairwise_consistency(ANSWERS, languages)
    assert matrix["fi"]["sw"] == matrix["sw"]["fi"] == 0.5 and matrix["en"]["en"] == 1.0
    # the diagonal is s = 1 for that language: sw left item 4 unanswered, so 3 of 4
    assert matrix["sw"]["sw"] == 0.75


def test_ac3_ra_en_co_xrr_by_hand() -> None:
    assert ac3(0.5, 0.25) == pytest.approx(2 * 0.5 * 0.25 / 0.75)
    assert ac3(0.0, 0.0) == 0.0
    assert chance_accuracy([4, 4, 2]) == pytest.approx((0.25 + 0.25 + 0.5) / 3)
    assert rescaled_accuracy(0.75, 0.25, 0.85) == pytest.approx(0.5 / 0.6)
    assert rescaled_accuracy(0.2, 0.25, 0.85) == 0.0  # below chance
    with pytest.raises(ConsistencyError, match="must exceed chance"):
        rescaled_accuracy(0.5, 0.25, 0.25)
    # fi right on 1, 2; English answered both the same → 1.0
    assert en_co(ANSWERS, RIGHT, "fi") == 1.0
    # sw right on 2; English answered 2 the same → 1.0
    assert en_co(ANSWERS, RIGHT, "sw") == 1.0
    # English right on 1, 2, 3; fi right on 1, 2 of them: 2/3 − 1/4
    assert xrr(ANSWERS, RIGHT, "fi", 0.25) == pytest.approx(2 / 3 - 0.25)
    assert xrr(ANSWERS, RIGHT, "sw", 0.5) == 0.0  # 1/3 − 1/2 < 0


def test_no_right_answer_in_a_language() -> None:
    wrong: dict[str, dict[str, int | None]] = {"en": {"1": 1, "2": 0}, "fi": {"1": 1, "2": 0}}
    right = {"1": 0, "2": 1}
    assert accuracy(wrong, right, "fi") == 0.0
    assert en_co(wrong, right, "fi") is None
    assert xrr(wrong, right, "fi", 0.5) is None
    report = consistency_report(wrong, right, ["en", "fi"], [2, 2], s=2, reference_accuracy=0.9)
    assert report["consistency"] == 1.0 and report["ac3"] == 0.0
    assert report["rescaled_accuracy"] == {"en": 0.0, "fi": 0.0}
    assert report["en_co"] == {"fi": None}


def test_bad_tables() -> None:
    with pytest.raises(ConsistencyError, match="no answers in 'ru'"):
        accuracy(ANSWERS, RIGHT, "ru")
    with pytest.raises(ConsistencyError, match="answer different items"):
        agreement({"en": {"1": 0}, "fi": {"2": 0}}, ["en", "fi"])


def test_missing_answers_agree_with_nothing_not_even_each_other() -> None:
    silent: dict[str, dict[str, int | None]] = {
        language: {"1": None, "2": None} for language in ("en", "fi", "sw")
    }
    right = {"1": 0, "2": 1}
    report = consistency_report(silent, right, ["en", "fi", "sw"], [4, 4], s=2)
    # by hand: no item is answered, so no subset agrees on any item
    assert report["consistency"] == 0.0 and report["ac3"] == 0.0
    # not even with itself: a language that answered nothing has 0 on the diagonal too
    languages = ("en", "fi", "sw")
    assert report["pairwise"] == {a: dict.fromkeys(languages, 0.0) for a in languages}
    assert report["missing"] == {"en": 2, "fi": 2, "sw": 2}
    assert report["en_co"] == {"fi": None, "sw": None}

    # one shared answer and one shared silence: only the answered item agrees
    half: dict[str, dict[str, int | None]] = {"en": {"1": 0, "2": None}, "fi": {"1": 0, "2": None}}
    assert agreement(half, ["en", "fi"]) == 0.5
    # a right answer in fi whose English is missing is not "answered the same in English"
    assert en_co({"en": {"1": None}, "fi": {"1": 0}}, {"1": 0}, "fi") == 0.0


def test_the_report_counts_missing_answers_per_language() -> None:
    report = consistency_report(ANSWERS, RIGHT, ["en", "fi", "sw"], [4] * 4, s=2)
    assert report["missing"] == {"en": 0, "fi": 0, "sw": 1}
