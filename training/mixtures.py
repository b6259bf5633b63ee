"""Language mixtures of a parallel set (§3.2–3.4 of the paper): pure, deterministic per seed.

Every example of the set appears exactly once per mixture, in exactly one language.

Rounding rules (asserted by the tests):
- a share of P percent of N examples is round-half-up(N · P / 100) examples;
- a budget of B examples over k languages gives each ⌊B / k⌋, and B mod k of them, chosen by
  the seed, one more: counts differ by at most one;
- explicit fractions are rounded by largest remainder (ties by the seed), so the counts sum to N.
Which examples go to which language is a seeded permutation of the items.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from training.parallel import ParallelSet


class MixtureError(ValueError):
    """A mixture the data cannot satisfy; the message names the language or the value."""


@dataclass(frozen=True)
class Mixture:
    """Counts of examples per language for a named recipe."""

    name: str
    recipe: dict[str, Any]
    counts: dict[str, int]


def percent_of(total: int, percent: float) -> int:
    """round-half-up(total · percent / 100)."""
    if not 0 <= percent <= 100:
        raise MixtureError(f"P = {percent} is outside 0–100")
    value = Decimal(total) * Decimal(str(percent)) / Decimal(100)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def spread(budget: int, languages: Sequence[str], seed: int) -> dict[str, int]:
    """`budget` examples over `languages` as evenly as possible (seeded extras)."""
    if not languages:
        raise MixtureError("no language to spread the examples over")
    base, extra = divmod(budget, len(languages))
    lucky = set(random.Random(seed).sample(list(languages), extra))
    return {language: base + (language in lucky) for language in languages}


def uniform(data: ParallelSet, percent: float, languages: Sequence[str], seed: int = 0) -> Mixture:
    """P% of the examples spread evenly over `languages`, the rest in English."""
    _check(data, [*languages, "en"])
    counts = spread(percent_of(len(data), percent), languages, seed)
    counts["en"] = counts.get("en", 0) + len(data) - sum(counts.values())
    recipe = {"kind": "uniform", "percent": percent, "languages": list(languages), "seed": seed}
    return Mixture(f"uniform-p{percent:g}", recipe, counts)


def monolingual(data: ParallelSet, language: str) -> Mixture:
    """The whole set in one language."""
    _check(data, [language])
    return Mixture(
        f"mono-{language}", {"kind": "monolingual", "language": language}, {language: len(data)}
    )


def subset(
    data: ParallelSet,
    permutation: Sequence[str],
    n: int,
    percent: float,
    seed: int = 0,
) -> Mixture:
    """The first `n` languages of `permutation` share P% evenly, the rest is English (§3.4)."""
    if not 1 <= n <= len(permutation):
        raise MixtureError(f"n = {n} must be between 1 and {len(permutation)}")
    mixture = uniform(data, percent, permutation[:n], seed)
    recipe = mixture.recipe | {"kind": "subset", "permutation": list(permutation), "n": n}
    name = f"subset-{'-'.join(permutation)}-n{n}-p{percent:g}"
    return Mixture(name, recipe, mixture.counts)


def explicit(data: ParallelSet, fractions: Mapping[str, float], seed: int = 0) -> Mixture:
    """Any `{language: fraction}` summing to 1, by largest remainder."""
    _check(data, list(fractions))
    if any(f < 0 for f in fractions.values()) or abs(sum(fractions.values()) - 1) > 1e-9:
        raise MixtureError(f"fractions must be ≥ 0 and sum to 1, got {dict(fractions)}")
    total = len(data)
    exact = {language: total * f for language, f in fractions.items()}
    counts = {language: int(share) for language, share in exact.items()}
    order = sorted(
        exact,
        key=lambda lang: (-(exact[lang] - counts[lang]), random.Random(f"{seed}{lang}").random()),
    )
    for language in order[: total - sum(counts.values())]:
        counts[language] += 1
    name = "mix-" + "-".join(f"{lang}{f:g}" for lang, f in fractions.items())
    return Mixture(name, {"kind": "explicit", "fractions": dict(fractions), "seed": seed}, counts)


def bilingual(data: ParallelSet, first: str, second: str, seed: int = 0) -> Mixture:
    """Half in each of two languages (§3.3's bilingual pairs)."""
    if first == second:
        raise MixtureError(f"a bilingual pair needs two languages, got {first!r} twice")
    mixture = explicit(data, {first: 0.5, second: 0.5}, seed)
    return Mixture(f"bi-{first}-{second}", mixture.recipe | {"kind": "bilingual"}, mixture.counts)


def assign(data: ParallelSet, mixture: Mixture, seed: int = 0) -> list[dict[str, str]]:
    """The examples of `mixture`: each item once, in the language its counts give it."""
    order = list(range(len(data)))
    random.Random(seed).shuffle(order)
    rows: list[dict[str, str]] = []
    start = 0
    for language in sorted(mixture.counts):
        for index in order[start : start + mixture.counts[language]]:
            record = data.records[index]
            rows.append(
                {
                    "id": record.id,
                    "language": language,
                    "instruction": record.instruction[language],
                    "response": record.response[language],
                }
            )
        start += mixture.counts[language]
    rows.sort(key=lambda row: row["id"])
    return rows


def write_mixture(
    data: ParallelSet, mixture: Mixture, folder: Path, source: str, seed: int = 0
) -> Path:
    """folder/<name>/mixture.jsonl and manifest.json, written whole or not at all."""
    target = folder / mixture.name
    rows = assign(data, mixture, seed)
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=f".{mixture.name}."))
    try:
        with (staging / "mixture.jsonl").open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        manifest = {
            "name": mixture.name,
            "recipe": mixture.recipe,
            "source": source,
            "total": len(rows),
            "counts": dict(sorted(mixture.counts.items())),
            "assignment_seed": seed,
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), "utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _check(data: ParallelSet, languages: Sequence[str]) -> None:
    if not len(data):
        raise MixtureError("the parallel set is empty")
    for language in languages:
        if language not in data.languages:
            have = ", ".join(data.languages)
            raise MixtureError(f"language {language!r} is not in the data (it has: {have})")
