"""How much of a teacher's verdicts a judge could learn without the reference answer.

On the split `sxs judges distill` makes (by item, a third held out, seed 0), a logistic
regression (scikit-learn) on three reference-free features of each judge prompt predicts the
teacher's digit: the log length ratio of the two answers, the difference of their shares of
letters in the instruction's script, and the product of the two. It prints the per-order
accuracy on the held-out pairs, next to the simplest rule ("the answer in the instruction's
script wins") and a constant answer. A student at chance where these are far above it is
limited by itself, not by its data.

    .venv/bin/python scripts/distill_signal.py out/demo/sxs.db [--teacher reference]
"""

from __future__ import annotations

import argparse
import math
import sys
import unicodedata
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--teacher", default="reference")
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


if __name__ == "__main__":
    main()
