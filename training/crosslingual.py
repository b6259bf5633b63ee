"""CrossIn's cross-lingual mixtures (Lin et al., 2024): instruction and response in different
languages, per example.

- `en2x`: instruction in English, response in a language x ≠ en;
- `x2en`: instruction in x ≠ en, response in English;
- `x2x`: instruction in x, response in y ≠ x (English may be either).

P% of the examples (all by default) are cross-lingual, spread evenly over the language pairs
with the rounding rules of `training.mixtures`; the rest stay monolingual English. Add
instruction-translation examples with `training.mixtures.with_translations`.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from itertools import permutations

from training.errors import MixtureError
from training.mixtures import (
    Mixture,
    check_languages,
    pair_label,
    percent_of,
    spread,
)
from training.parallel import ParallelSet


class CrossVariant(StrEnum):
    """Which side of an example leaves English."""

    EN2X = "en2x"
    X2EN = "x2en"
    X2X = "x2x"


def cross_pairs(variant: CrossVariant, languages: Sequence[str]) -> list[str]:
    """The `instruction>response` labels a variant spreads its examples over."""
    others = [language for language in languages if language != "en"]
    if variant is CrossVariant.EN2X:
        return [pair_label("en", x) for x in others]
    if variant is CrossVariant.X2EN:
        return [pair_label(x, "en") for x in others]
    return [pair_label(x, y) for x, y in permutations(languages, 2)]


def crossin(
    data: ParallelSet,
    variant: CrossVariant,
    languages: Sequence[str],
    percent: float = 100,
    seed: int = 0,
) -> Mixture:
    """P% of the examples cross-lingual along `variant` over `languages`, the rest English."""
    check_languages(data, [*languages, "en"])
    pairs = cross_pairs(variant, languages)
    if not pairs:
        need = "two languages" if variant is CrossVariant.X2X else "a language other than en"
        raise MixtureError(f"crossin-{variant} needs {need}, got {', '.join(languages)}")
    counts = spread(percent_of(len(data), percent), pairs, seed)
    counts["en"] = len(data) - sum(counts.values())
    recipe = {
        "kind": "crossin",
        "variant": str(variant),
        "percent": percent,
        "languages": list(languages),
        "seed": seed,
    }
    return Mixture(f"crossin-{variant}-p{percent:g}", recipe, counts)
