"""A teacher's verdicts as a supervised set: the split by item, one example per order, the
balance of '1' and '2', and the teachers that cannot be distilled."""

from __future__ import annotations

from collections import Counter

import pytest

from judges.distillation import (
    TeacherPair,
    balanced,
    check_teachable,
    examples,
    first_share,
    split_by_item,
)
from judges.errors import JudgeDistillationError
from judges.prompts import JudgeTemplate
from judges.verdicts import Order, Verdict

TEMPLATE = JudgeTemplate("t", "Q: {instruction}\nA1: {response_1}\nA2: {response_2}\n")
ONE, TWO = Verdict.FIRST, Verdict.SECOND


def pair(item: str, language: str = "en", ab: Verdict | None = ONE, ba: Verdict | None = TWO,
         a: str = "alpha", b: str = "beta") -> TeacherPair:  # fmt: skip
    return TeacherPair(f"{language}:{item}:{a}:{b}", item, language, f"do {item}", a, b, ab, ba)


def test_the_split_holds_out_whole_items_in_every_language_and_is_stable() -> None:
    pairs = [pair(str(i), language) for i in range(12) for language in ("en", "fi", "zh")]
    split = split_by_item(pairs, 1 / 3, seed=0)
    assert len(split.held_out_items) == 4
    assert {p.item for p in split.held_out} == set(split.held_out_items)
    assert not {p.item for p in split.train} & set(split.held_out_items)
    # every language of a held-out item is held out with it
    assert Counter(p.item for p in split.held_out) == {item: 3 for item in split.held_out_items}
    assert split_by_item(list(reversed(pairs)), 1 / 3, seed=0).held_out_items == (
        split.held_out_items
    )
    assert split_by_item(pairs, 1 / 3, seed=1).held_out_items != split.held_out_items
    # more pairs on the same items do not move the split
    more = [*pairs, pair("3", "ru", a="gamma")]
    assert split_by_item(more, 1 / 3, seed=0).held_out_items == split.held_out_items


def test_a_split_keeps_an_item_on_each_side() -> None:
    two = [pair("1"), pair("2")]
    assert len(split_by_item(two, 0.99).held_out_items) == 1
    assert len(split_by_item(two, 0.01).held_out_items) == 1
    with pytest.raises(JudgeDistillationError, match="at least 2"):
        split_by_item([pair("1"), pair("1", "fi")], 0.5)


def test_each_order_becomes_its_prompt_and_the_teachers_digit() -> None:
    made = examples([pair("1", ab=ONE, ba=TWO)], TEMPLATE)
    assert [(e.order, e.verdict) for e in made] == [(Order.AB, ONE), (Order.BA, TWO)]
    assert made[0].prompt == "Q: do 1\nA1: alpha\nA2: beta\n"
    assert made[1].prompt == "Q: do 1\nA1: beta\nA2: alpha\n"
    assert made[1].row() == {"instruction": made[1].prompt, "response": "2", "group": made[1].pair}


def test_identical_pairs_and_invalid_orders_teach_nothing() -> None:
    made = examples(
        [pair("1", a="same", b=" same "), pair("2", ab=None, ba=ONE), pair("3", ab=None, ba=None)],
        TEMPLATE,
    )
    assert [(e.pair, e.order) for e in made] == [("en:2:alpha:beta", Order.BA)]


def test_balance_keeps_as_many_ones_as_twos() -> None:
    pairs = [pair(str(i), ab=ONE, ba=ONE if i % 3 else TWO) for i in range(30)]
    made = examples(pairs, TEMPLATE)
    assert first_share(made) == pytest.approx(100 * 50 / 60)
    kept = balanced(made, seed=0)
    assert Counter(e.verdict for e in kept) == {ONE: 10, TWO: 10}
    assert set(kept) <= set(made)
    assert first_share(kept) == 50.0
    assert first_share([]) is None


def test_a_teacher_with_no_verdict_or_one_position_cannot_be_distilled() -> None:
    with pytest.raises(JudgeDistillationError, match="no valid verdict"):
        check_teachable([], "gpt")
    always_first = examples([pair(str(i), ab=ONE, ba=ONE) for i in range(5)], TEMPLATE)
    with pytest.raises(JudgeDistillationError, match="every verdict of judge 'gpt' here is '1'"):
        check_teachable(always_first, "gpt")
    check_teachable(examples([pair("1")], TEMPLATE), "gpt")


def test_a_teacher_pair_is_a_results_line() -> None:
    record = pair("7", "fi", ab=ONE, ba=ONE).record()
    assert record["outcome"] == "tie" and record["label"] == "tie"
    assert record["ab"] == {"raw": "1", "verdict": ONE}
    assert pair("7", ab=None).record()["label"] is None
    assert pair("7", ab=TWO, ba=ONE).record()["label"] == "2"
