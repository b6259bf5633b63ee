"""How much of a teacher's verdicts a judge could learn, without and with the reference answer.

On the split `sxs judges distill` makes (by item, a third held out, seed 0), a logistic
regression (scikit-learn) on three reference-free features of each judge prompt predicts the
teacher's digit: the log length ratio of the two answers, the difference of their shares of
letters in the instruction's script, and the product of the two. It prints the per-order
accuracy on the held-out pairs, next to the simplest rule ("the answer in the instruction's
script wins") and a constant answer. A student at chance where these are far above it is
limited by itself, not by its data.

With the eval set (`--eval-set`, default: the store's folder's eval.jsonl, as the demo writes
it), it also prints rules that read the reference answer, as the `reference` teacher does:
the answer sharing more of the reference's character trigrams wins, or more of its words;
and how far the teacher's two chrF scores are apart (a student must resolve the close ones).

    .venv/bin/python scripts/distill_signal.py out/demo/sxs.db [--teacher reference]
"""

from __future__ import annotations

import argparse
import math
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generators.eval_sets import reference_answers  # noqa: E402
from judges.backends.reference import chrf  # noqa: E402
from judges.distillation import TeacherPair, split_by_item  # noqa: E402
from judges.verdicts import Verdict  # noqa: E402
from service.distill.teacher import teacher_pairs  # noqa: E402

Row = tuple[tuple[float, float, float], bool]  # features, teacher answered '1'


def script(character: str) -> str | None:
    """The first word of a letter's Unicode name (LATIN, CYRILLIC, DEVANAGARI, CJK…)."""
    if not character.isalpha():
        return None
    return unicodedata.name(character, "UNKNOWN").split()[0]


def scripts(text: str) -> Counter[str]:
    return Counter(s for s in map(script, text) if s is not None)


def share(text: str, wanted: str | None) -> float:
    counts = scripts(text)
    return counts[wanted] / sum(counts.values()) if wanted and counts else 0.0


def rows(pairs: list[TeacherPair]) -> list[Row]:
    """One row per order with a valid teacher verdict (identical answers left out)."""
    made: list[Row] = []
    for pair in pairs:
        main = scripts(pair.instruction).most_common(1)
        wanted = main[0][0] if main else None
        for _, first, second, verdict in pair.judged():
            length = math.log(len(first) + 1) - math.log(len(second) + 1)
            in_script = share(first, wanted) - share(second, wanted)
            made.append(((length, in_script, length * in_script), verdict is Verdict.FIRST))
    return made


def overlap(answer: str, reference: str, units: Callable[[str], set[str]]) -> float:
    """The share of the reference's units (trigrams, words) the answer has too."""
    wanted = units(reference.lower())
    return len(units(answer.lower()) & wanted) / len(wanted) if wanted else 0.0


def trigrams(text: str) -> set[str]:
    return {text[i : i + 3] for i in range(len(text) - 2)}


def words(text: str) -> set[str]:
    return set(text.split())


def chrf_gap(pair: TeacherPair, reference: str) -> float:
    """How far apart the teacher's two chrF scores of the pair are."""
    return abs(chrf(pair.response_a, reference) - chrf(pair.response_b, reference))


def with_reference(pairs: list[TeacherPair], references: dict[tuple[str, str], str]) -> None:
    """Print the reference-reading rules' per-order accuracy and the chrF gaps."""
    rules = {"character trigrams": trigrams, "words": words}
    right = dict.fromkeys(rules, 0)
    gaps: list[float] = []
    orders = 0
    for pair in pairs:
        reference = references.get((pair.item, pair.language))
        if reference is None:
            continue
        if not pair.identical:
            gaps.append(chrf_gap(pair, reference))
        for _, first, second, verdict in pair.judged():
            orders += 1
            for name, units in rules.items():
                picks_first = overlap(first, reference, units) >= overlap(second, reference, units)
                right[name] += picks_first == (verdict is Verdict.FIRST)
    if not orders:
        print("no held-out pair has a reference in the eval set")
        return
    for name, count in right.items():
        print(f"the answer with more of the reference's {name} wins: {100 * count / orders:.1f}%")
    for limit in (2, 5, 10):
        close = sum(gap < limit for gap in gaps) / len(gaps)
        print(f"pairs whose chrF scores differ by < {limit} points: {100 * close:.1f}%")


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--teacher", default="reference")
    parser.add_argument("--eval-set", type=Path, help="default: STORE's folder's eval.jsonl")
    args = parser.parse_args()
    split = split_by_item(teacher_pairs(args.store, args.teacher), 1 / 3, seed=0)
    train, held_out = rows(split.train), rows(split.held_out)
    model = LogisticRegression().fit([f for f, _ in train], [y for _, y in train])
    accuracy = model.score([f for f, _ in held_out], [y for _, y in held_out])
    by_script = sum((f[1] > 0) == y for f, y in held_out) / len(held_out)
    constant = max(sum(y for _, y in held_out), sum(not y for _, y in held_out)) / len(held_out)
    print(f"{len(train)} training and {len(held_out)} held-out prompts, teacher {args.teacher!r}")
    print(f"logistic regression, 3 features: {100 * accuracy:.1f}% per-order accuracy")
    print(f"the answer in the instruction's script wins: {100 * by_script:.1f}%")
    print(f"one constant answer: {100 * constant:.1f}%")
    eval_set = args.eval_set or args.store.parent / "eval.jsonl"
    if eval_set.is_file():
        with_reference(split.held_out, reference_answers(eval_set))


if __name__ == "__main__":
    main()
