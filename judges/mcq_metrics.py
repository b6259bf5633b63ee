"""Cross-lingual consistency of multiple-choice answers (CrossIn; CLiKA). Pure functions.

Tables: `answers[language][item]` is the chosen option (None: no answer), `right[item]` the
right option (the same in every language: the options are parallel). A missing answer (no
option letter among the model's top tokens) stays in every denominator and never counts for
the model: it is wrong (accuracy, RA, XRR), it agrees with nothing, not even another missing
answer (M, Consistency_s, AC3, pairwise, en-CO), so a model that never answers scores 0
everywhere rather than looking consistent. `missing_answers` counts them per language, and
the report carries those counts. Results are fractions in [0, 1]; the CLI and API report
them in percent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from statistics import fmean

from judges.errors import ConsistencyError

Answers = Mapping[str, Mapping[str, int | None]]


def _items(answers: Answers, languages: Sequence[str]) -> list[str]:
    if not languages:
        raise ConsistencyError("no language given")
    for language in languages:
        if language not in answers:
            raise ConsistencyError(f"no answers in {language!r} (have: {', '.join(answers)})")
    items = sorted(answers[languages[0]])
    for language in languages[1:]:
        if sorted(answers[language]) != items:
            raise ConsistencyError(f"{language!r} and {languages[0]!r} answer different items")
    if not items:
        raise ConsistencyError("no items")
    return items


def accuracy(answers: Answers, right: Mapping[str, int], language: str) -> float:
    """A_L = |{i : answer_L(i) = right(i)}| / |items|."""
    items = _items(answers, [language])
    return sum(answers[language][i] == right[i] for i in items) / len(items)


def agreement(answers: Answers, languages: Sequence[str]) -> float:
    """CrossIn's M over a language subset: the share of items answered identically (right or
    wrong) in every language of the subset; an item missing an answer in any of them does not
    count as answered identically."""
    items = _items(answers, languages)
    same = sum(_same_answer([answers[language][i] for language in languages]) for i in items)
    return same / len(items)


def _same_answer(choices: Sequence[int | None]) -> bool:
    return None not in choices and len(set(choices)) == 1


def missing_answers(answers: Answers, languages: Sequence[str]) -> dict[str, int]:
    """language → how many items have no answer."""
    items = _items(answers, languages)
    return {language: sum(answers[language][i] is None for i in items) for language in languages}


def consistency(answers: Answers, languages: Sequence[str], s: int = 3) -> float:
    """Consistency_s = the mean of M over all C(n, s) subsets of s of the n languages."""
    if not 1 <= s <= len(languages):
        raise ConsistencyError(
            f"s = {s} needs 1 ≤ s ≤ the number of languages ({len(languages)}: "
            f"{', '.join(languages)}); pass a smaller s or more languages"
        )
    return fmean(agreement(answers, subset) for subset in combinations(languages, s))


def pairwise_consistency(answers: Answers, languages: Sequence[str]) -> dict[str, dict[str, float]]:
    """M of every pair of languages (CrossIn's Figure 2). On the diagonal, M of the language
    alone: the share of items it answered (1 with none missing; a missing answer agrees with
    nothing, not even itself)."""
    return {a: {b: agreement(answers, [a, b] if a != b else [a]) for b in languages}
            for a in languages}  # fmt: skip


def ac3(accuracy_value: float, consistency_value: float) -> float:
    """AC3_s = the harmonic mean of accuracy (the mean over languages) and Consistency_s:
    2·A·C / (A + C), 0 when both are 0."""
    total = accuracy_value + consistency_value
    return 2 * accuracy_value * consistency_value / total if total else 0.0


def chance_accuracy(option_counts: Sequence[int]) -> float:
    """A_r = 1 / number of options (the mean over items when their counts differ)."""
    if not option_counts:
        raise ConsistencyError("no items")
    return fmean(1 / count for count in option_counts)


def rescaled_accuracy(value: float, chance: float, reference: float) -> float:
    """CLiKA RA = max(A − A_r, 0) / max(A_g − A_r, 0), with A_g a reference accuracy."""
    scale = max(reference - chance, 0.0)
    if scale == 0:
        raise ConsistencyError(
            f"the reference accuracy A_g = {reference:g} must exceed chance A_r = {chance:g}"
        )
    return max(value - chance, 0.0) / scale


def en_co(
    answers: Answers, right: Mapping[str, int], language: str, english: str = "en"
) -> float | None:
    """CLiKA en-CO(X) = |{i : right in X, and answered the same in English}| / |{i : right in
    X}|; None when nothing is right in X (a missing answer is never right nor the same)."""
    items = _items(answers, [language, english])
    correct = [i for i in items if answers[language][i] == right[i]]
    if not correct:
        return None
    return sum(answers[english][i] == answers[language][i] for i in correct) / len(correct)


def xrr(
    answers: Answers,
    right: Mapping[str, int],
    language: str,
    chance: float,
    english: str = "en",
) -> float | None:
    """CLiKA XRR(X) = max(|{i : right in English and in X}| / |{i : right in English}| − A_r,
    0); None when nothing is right in English."""
    items = _items(answers, [language, english])
    in_english = [i for i in items if answers[english][i] == right[i]]
    if not in_english:
        return None
    both = sum(answers[language][i] == right[i] for i in in_english)
    return max(both / len(in_english) - chance, 0.0)


def consistency_report(
    answers: Answers,
    right: Mapping[str, int],
    languages: Sequence[str],
    option_counts: Sequence[int],
    s: int = 3,
    reference_accuracy: float | None = None,
    english: str = "en",
) -> dict[str, object]:
    """Every metric of one model: accuracy per language and on average, Consistency_s, AC3_s,
    pairwise consistency, missing answers per language, and where they apply RA (given A_g),
    en-CO and XRR per language."""
    per_language = {language: accuracy(answers, right, language) for language in languages}
    mean_accuracy = fmean(per_language.values())
    consistency_s = consistency(answers, languages, s)
    chance = chance_accuracy(option_counts)
    report: dict[str, object] = {
        "accuracy": per_language,
        "mean_accuracy": mean_accuracy,
        "s": s,
        "consistency": consistency_s,
        "ac3": ac3(mean_accuracy, consistency_s),
        "pairwise": pairwise_consistency(answers, languages),
        "chance_accuracy": chance,
        "missing": missing_answers(answers, languages),
    }
    if reference_accuracy is not None:
        report["rescaled_accuracy"] = {
            language: rescaled_accuracy(value, chance, reference_accuracy)
            for language, value in per_language.items()
        }
    if english in languages:
        others = [language for language in languages if language != english]
        report["en_co"] = {x: en_co(answers, right, x, english) for x in others}
        report["xrr"] = {x: xrr(answers, right, x, chance, english) for x in others}
    return report
