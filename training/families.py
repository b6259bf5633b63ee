"""Families of mixtures of §3.2–3.4: the P sweep, monolingual, language subsets along a
permutation, bilingual pairs and CrossIn, and the translation directions added to them."""

from __future__ import annotations

from enum import StrEnum

from common.lists import comma_list
from training.crosslingual import CrossVariant, crossin
from training.mixtures import Mixture, bilingual, monolingual, pair_label, subset, uniform
from training.parallel import ParallelSet


class Family(StrEnum):
    """Which mixtures to build."""

    SWEEP = "sweep"
    MONOLINGUAL = "monolingual"
    SUBSETS = "subsets"
    BILINGUAL = "bilingual"
    CROSSIN_EN2X = "crossin-en2x"
    CROSSIN_X2EN = "crossin-x2en"
    CROSSIN_X2X = "crossin-x2x"


def translation_directions(text: str, languages: tuple[str, ...]) -> list[str]:
    """`en2x`, `x2en`, `both` (over `languages`) or an explicit `en>fi,fi>en` list."""
    others = [language for language in languages if language != "en"]
    named = {
        "en2x": [pair_label("en", x) for x in others],
        "x2en": [pair_label(x, "en") for x in others],
    }
    named["both"] = named["en2x"] + named["x2en"]
    if text in named:
        return named[text]
    return comma_list(text)


def family_mixtures(
    data: ParallelSet,
    family: Family,
    languages: tuple[str, ...],
    percents: list[float],
    permutations: list[tuple[str, ...]],
    seed: int,
) -> list[Mixture]:
    """Every mixture of a family."""
    if family is Family.SWEEP:
        return [uniform(data, p, languages, seed) for p in percents]
    if family is Family.MONOLINGUAL:
        return [monolingual(data, language) for language in languages]
    if family is Family.BILINGUAL:
        return [bilingual(data, "en", language, seed) for language in languages if language != "en"]
    if family.startswith("crossin-"):
        variant = CrossVariant(family.removeprefix("crossin-"))
        return [crossin(data, variant, languages, p, seed) for p in percents]
    return [
        subset(data, permutation, n, percent, seed)
        for permutation in permutations
        for n in range(1, len(permutation) + 1)
        for percent in percents
    ]
