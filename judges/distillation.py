"""A teacher judge's verdicts as a supervised set for a student judge.

Each pair a teacher judged gives one example per order: the judge prompt (the template
filled with the instruction and the two responses in that order) → the digit the teacher
answered. Pairs with identical responses teach nothing and are left out; an order whose
teacher verdict is invalid gives no example.

Pairs are split by item, not by pair: a share of the item ids is held out in every language
at once, so no held-out instruction, nor its translation, is ever trained on. Which items are
held out depends only on the ids and the seed (SHA-256), so the split survives new pairs.

Balance: a teacher that answers '1' more often than '2' (or the reverse) would teach the
student a position. `balanced` keeps as many '1' as '2' examples, dropping the surplus at
random (seeded). A teacher whose every verdict is one position cannot be distilled at all.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from judges.errors import JudgeDistillationError
from judges.prompts import JudgeTemplate
from judges.results import label_of
from judges.verdicts import Order, Outcome, Verdict, outcome_of


@dataclass(frozen=True, slots=True)
class TeacherPair:
    """A pair the teacher judged, with its verdict in each order (None: invalid or absent).

    `id` is unique among the pairs (language, item and models); `item` is the eval item's id,
    shared by its translations."""

    id: str
    item: str
    language: str
    instruction: str
    response_a: str
    response_b: str
    ab: Verdict | None
    ba: Verdict | None

    @property
    def outcome(self) -> Outcome:
        """The teacher's outcome for A."""
        return outcome_of(self.ab, self.ba)

    @property
    def identical(self) -> bool:
        """Identical responses: a tie by definition, nothing to learn from."""
        return self.response_a.strip() == self.response_b.strip()

    def verdict(self, order: Order) -> Verdict | None:
        """The teacher's verdict on the prompt in `order`."""
        return self.ab if order is Order.AB else self.ba

    def judged(self) -> Iterator[tuple[Order, str, str, Verdict]]:
        """(order, Answer1, Answer2, the teacher's verdict) for each order with a valid
        verdict; nothing for identical responses."""
        if self.identical:
            return
        for order in Order:
            verdict = self.verdict(order)
            if verdict is not None:
                first, second = (
                    (self.response_a, self.response_b)
                    if order is Order.AB
                    else (self.response_b, self.response_a)
                )
                yield order, first, second, verdict

    def record(self) -> dict[str, Any]:
        """A results-file line (`sxs agreement` reads its id, label, language, ab and ba)."""
        label = label_of(self.outcome)
        calls = {
            order.value: None if verdict is None else {"raw": verdict.value, "verdict": verdict}
            for order, verdict in ((Order.AB, self.ab), (Order.BA, self.ba))
        }
        return {
            "id": self.id,
            "item": self.item,
            "language": self.language,
            "instruction": self.instruction,
            "response_a": self.response_a,
            "response_b": self.response_b,
            "outcome": self.outcome.value,
            "label": None if label is None else label.value,
        } | calls


@dataclass(frozen=True, slots=True)
class Example:
    """One supervised example: a judge prompt and the digit to answer."""

    pair: str
    order: Order
    prompt: str
    verdict: Verdict

    def row(self) -> dict[str, str]:
        """An instruction/response row, as the training code reads a mixture; `group` keeps a
        pair's two orders in one micro-batch (the position prior cancels within it)."""
        return {"instruction": self.prompt, "response": self.verdict.value, "group": self.pair}


@dataclass(frozen=True, slots=True)
class Split:
    """Pairs whose items are trained on, and pairs whose items are held out."""

    train: list[TeacherPair]
    held_out: list[TeacherPair]
    held_out_items: list[str]


def split_by_item(pairs: Sequence[TeacherPair], held_out_share: float, seed: int = 0) -> Split:
    """Hold out `held_out_share` of the item ids (at least one, never all)."""
    if not 0 < held_out_share < 1:
        raise JudgeDistillationError(f"held_out_share must be in (0, 1), not {held_out_share}")
    items = sorted({pair.item for pair in pairs})
    if len(items) < 2:
        raise JudgeDistillationError(
            f"the teacher's pairs come from {len(items)} item(s); a split by item needs at "
            "least 2 (judge more eval items with the teacher)"
        )
    count = min(len(items) - 1, max(1, round(held_out_share * len(items))))
    ranked = sorted(items, key=lambda item: _rank(item, seed))
    held = set(ranked[:count])
    return Split(
        train=[pair for pair in pairs if pair.item not in held],
        held_out=[pair for pair in pairs if pair.item in held],
        held_out_items=sorted(held),
    )


def _rank(item: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}\x00{item}".encode()).hexdigest()


def examples(pairs: Iterable[TeacherPair], template: JudgeTemplate) -> list[Example]:
    """One example per order with a valid teacher verdict; identical pairs are left out."""
    made: list[Example] = []
    for pair in pairs:
        for order, first, second, verdict in pair.judged():
            prompt = template.render(pair.instruction, first, second)
            made.append(Example(pair.id, order, prompt, verdict))
    return made


def check_teachable(made: Sequence[Example], teacher: str) -> None:
    """A student can learn from these examples: there are some, and both digits occur."""
    if not made:
        raise JudgeDistillationError(
            f"judge {teacher!r} left no valid verdict on a pair of different responses in "
            "this selection; run comparisons with it first (or choose other languages)"
        )
    digits = {example.verdict for example in made}
    if len(digits) == 1:
        (only,) = digits
        raise JudgeDistillationError(
            f"every verdict of judge {teacher!r} here is {only.value!r} ({len(made)} "
            "examples): it judges by position, and a student would learn only that"
        )


def balanced(made: Sequence[Example], seed: int = 0) -> list[Example]:
    """As many '1' as '2' examples (the surplus dropped at random), in a shuffled order."""
    by_digit = {verdict: [e for e in made if e.verdict is verdict] for verdict in Verdict}
    keep = min(len(group) for group in by_digit.values())
    rng = random.Random(seed)
    kept = [e for group in by_digit.values() for e in rng.sample(group, keep)]
    rng.shuffle(kept)
    return kept


def first_share(made: Sequence[Example]) -> float | None:
    """Percent of examples answering '1' (None for none)."""
    if not made:
        return None
    return 100.0 * sum(e.verdict is Verdict.FIRST for e in made) / len(made)
