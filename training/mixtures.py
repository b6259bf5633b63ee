"""Language mixtures of a parallel set (§3.2–3.4 of the paper): pure, deterministic per seed.

Every example of the set appears exactly once per mixture, in exactly one language, or, for
the cross-lingual variants, with its instruction in one language and its response in another:
a mixture's counts are keyed by `fi` (instruction and response in Finnish) or `en>fi`
(instruction in English, response in Finnish). Translation demonstrations come on top of the
examples: each is an item's instruction to translate from one language into another.

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
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from training.errors import MixtureError
from training.languages import LANGUAGES
from training.parallel import ParallelSet


@dataclass(frozen=True)
class Mixture:
    """Examples per language (or `instruction>response` pair) and translation demonstrations
    per `source>target` direction, for a named recipe."""

    name: str
    recipe: dict[str, Any]
    counts: dict[str, int]
    translations: dict[str, int] = field(default_factory=dict)


def pair_label(instruction: str, response: str) -> str:
    """`fi` for a monolingual example, `en>fi` for a cross-lingual one."""
    return instruction if instruction == response else f"{instruction}>{response}"


def split_label(label: str) -> tuple[str, str]:
    """(instruction language, response language) of a count label."""
    instruction, _, response = label.partition(">")
    return instruction, response or instruction


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
    check_languages(data, [*languages, "en"])
    counts = spread(percent_of(len(data), percent), languages, seed)
    counts["en"] = counts.get("en", 0) + len(data) - sum(counts.values())
    recipe = {"kind": "uniform", "percent": percent, "languages": list(languages), "seed": seed}
    return Mixture(f"uniform-p{percent:g}", recipe, counts)


def monolingual(data: ParallelSet, language: str) -> Mixture:
    """The whole set in one language."""
    check_languages(data, [language])
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
    check_languages(data, list(fractions))
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
    """The examples of `mixture`: each item once, in the languages its counts give it, then
    its translation demonstrations."""
    order = list(range(len(data)))
    random.Random(seed).shuffle(order)
    rows: list[dict[str, str]] = []
    start = 0
    for label in sorted(mixture.counts):
        source, target = split_label(label)
        for index in order[start : start + mixture.counts[label]]:
            record = data.records[index]
            row = {"id": record.id, "language": source}
            if target != source:
                row["response_language"] = target
            row["instruction"] = record.instruction[source]
            row["response"] = record.response[target]
            rows.append(row)
        start += mixture.counts[label]
    rows.sort(key=lambda row: row["id"])
    return rows + _translation_rows(data, mixture.translations, seed)


_TRANSLATE = "Translate the following text from {source} into {target}.\n\n{text}"


def with_translations(
    data: ParallelSet, mixture: Mixture, directions: Sequence[str], count: int
) -> Mixture:
    """`mixture` plus `count` translation demonstrations per `source>target` direction.

    Each demonstration asks to translate an item's instruction (CrossIn's instruction
    translation; en>x and x>en together are translation-following demonstrations).
    """
    if not count or not directions:
        return mixture
    if count < 0 or count > len(data):
        raise MixtureError(f"{count} translations per direction: must be 0–{len(data)}")
    for direction in directions:
        source, target = split_label(direction)
        if source == target:
            raise MixtureError(f"direction {direction!r} must be SOURCE>TARGET, two languages")
        check_languages(data, [source, target])
    translations = dict(mixture.translations) | dict.fromkeys(directions, count)
    recipe = mixture.recipe | {"translations": translations}
    return replace(
        mixture, name=f"{mixture.name}+tr{count}", recipe=recipe, translations=translations
    )


def _translation_rows(
    data: ParallelSet, translations: Mapping[str, int], seed: int
) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for direction in sorted(translations):
        source, target = split_label(direction)
        chosen = random.Random(f"{seed}:{direction}").sample(
            range(len(data)), translations[direction]
        )
        for index in sorted(chosen):
            record = data.records[index]
            instruction = _TRANSLATE.format(
                source=LANGUAGES.get(source, source),
                target=LANGUAGES.get(target, target),
                text=record.instruction[source],
            )
            rows.append(
                {
                    "id": f"{record.id}#translate-{source}-{target}",
                    "language": source,
                    "response_language": target,
                    "task": "translation",
                    "instruction": instruction,
                    "response": record.instruction[target],
                }
            )
    return rows


def write_mixture(
    data: ParallelSet, mixture: Mixture, folder: Path, source: str, seed: int = 0
) -> Path:
    """folder/<name>/mixture.jsonl and manifest.json, written whole or not at all."""
    manifest = {
        "name": mixture.name,
        "recipe": mixture.recipe,
        "source": source,
        "total": 0,
        "counts": dict(sorted(mixture.counts.items())),
        "translations": dict(sorted(mixture.translations.items())),
        "assignment_seed": seed,
    }
    return write_examples(folder / mixture.name, assign(data, mixture, seed), manifest)


def write_examples(target: Path, rows: list[dict[str, str]], manifest: dict[str, Any]) -> Path:
    """A training set as `train_lora` reads it: target/mixture.jsonl (instruction/response
    rows) and target/manifest.json (`manifest`, its `total` set), written whole or not at
    all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        with (staging / "mixture.jsonl").open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        manifest = manifest | {"total": len(rows)}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), "utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def check_languages(data: ParallelSet, languages: Sequence[str]) -> None:
    """Raise `MixtureError` when the set is empty or lacks one of `languages`."""
    if not len(data):
        raise MixtureError("the parallel set is empty")
    for language in languages:
        if language not in data.languages:
            have = ", ".join(data.languages)
            raise MixtureError(f"language {language!r} is not in the data (it has: {have})")
