"""What the fake models' consistency metrics are, derived by hand or counted straight from the
project's multiple-choice sample: the oracle of the CLI and job tests."""

from __future__ import annotations

from typing import Any

import pytest

from generators.mcq_sets import read_mcq_set
from service.settings import SAMPLE_MCQ_SET
from tests.service.fakes import mcq_letter

SAMPLE = read_mcq_set(SAMPLE_MCQ_SET)
LANGUAGES = ["en", "es", "fi", "ru"]


def expected_good(s: int, reference: float | None = None) -> dict[str, Any]:
    """The fake 'good' model's metrics, derived by hand: right in en and es, and in fi and ru
    the option after the right one (so wrong, and wrong the same way in both)."""
    same = {("en", "es"), ("fi", "ru")}
    pairwise = {
        a: {b: 1.0 if a == b or (a, b) in same or (b, a) in same else 0.0 for b in LANGUAGES}
        for a in LANGUAGES
    }
    # s = 2: of the 6 pairs, en-es and fi-ru agree on every item; s = 3: no triple agrees
    consistency = {2: 2 / 6, 3: 0.0}[s]
    report: dict[str, Any] = {
        "accuracy": {"en": 1.0, "es": 1.0, "fi": 0.0, "ru": 0.0},
        "mean_accuracy": 0.5,
        "s": s,
        "consistency": pytest.approx(consistency),
        "ac3": pytest.approx({2: 2 * 0.5 * (1 / 3) / (0.5 + 1 / 3), 3: 0.0}[s]),
        "pairwise": pairwise,
        "chance_accuracy": 0.25,
        "missing": {"en": 0, "es": 0, "fi": 0, "ru": 0},
        "en_co": {"es": 1.0, "fi": None, "ru": None},  # nothing right in fi, ru
        "xrr": {"es": 0.75, "fi": 0.0, "ru": 0.0},  # max(both right / right in en − 1/4, 0)
    }
    if reference is not None:
        ra = (1 - 0.25) / (reference - 0.25)
        report["rescaled_accuracy"] = pytest.approx({"en": ra, "es": ra, "fi": 0.0, "ru": 0.0})
    return report


def expected_hashed(model: str, s: int) -> tuple[dict[str, float], float]:
    """Accuracy per language and Consistency_s of a model answering by the fake's hash rule,
    counted here straight from the set."""
    from itertools import combinations

    picks = {
        language: {
            item.id: "ABCD".index(mcq_letter(model, item.prompt(language))) for item in SAMPLE.items
        }
        for language in LANGUAGES
    }
    right = {item.id: item.right for item in SAMPLE.items}
    n = len(SAMPLE.items)
    accuracy = {
        language: sum(picks[language][i] == right[i] for i in right) / n for language in LANGUAGES
    }
    subsets = list(combinations(LANGUAGES, s))
    agreeing = [sum(len({picks[lang][i] for lang in subset}) == 1 for i in right) / n
                for subset in subsets]  # fmt: skip
    return accuracy, sum(agreeing) / len(subsets)
