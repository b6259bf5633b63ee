"""CrossIn variants and translation demonstrations: exact counts, languages per side, CLI."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.training.test_mixtures import oasst_parallel, synthetic
from training.crosslingual import CrossVariant, cross_pairs, crossin
from training.errors import MixtureError
from training.languages import MAIN
from training.mixtures import assign, monolingual, with_translations, write_mixture
from training.parallel import load_parallel

SIX = ("en", "es", "fi", "hi", "ru", "zh")


def test_en2x_puts_english_instructions_over_other_responses() -> None:
    data = synthetic(103, SIX)
    mixture = crossin(data, CrossVariant.EN2X, SIX, percent=100, seed=4)
    assert set(mixture.counts) == {"en", "en>es", "en>fi", "en>hi", "en>ru", "en>zh"}
    assert mixture.counts["en"] == 0
    assert sorted(mixture.counts[f"en>{x}"] for x in SIX[1:]) == [20, 20, 21, 21, 21]
    rows = assign(data, mixture, seed=4)
    assert sorted(row["id"] for row in rows) == [f"{i:05d}" for i in range(103)]
    for row in rows:
        assert row["language"] == "en" and row["response_language"] != "en"
        assert row["instruction"] == f"en instruction {int(row['id'])}"
        assert row["response"] == f"{row['response_language']} response {int(row['id'])}"


def test_x2en_and_x2x() -> None:
    data = synthetic(90, SIX)
    x2en = crossin(data, CrossVariant.X2EN, SIX, percent=50)
    assert x2en.counts["en"] == 45
    assert {label for label in x2en.counts if ">" in label} == {f"{x}>en" for x in SIX[1:]}
    assert sum(x2en.counts.values()) == 90
    x2x_mix = crossin(data, CrossVariant.X2X, SIX, percent=100, seed=2)
    pairs = {label: n for label, n in x2x_mix.counts.items() if ">" in label}
    assert len(pairs) == 6 * 5  # every ordered pair of distinct languages
    assert sum(pairs.values()) == 90 and set(pairs.values()) == {3}
    for row in assign(data, x2x_mix, seed=2):
        assert row["language"] != row["response_language"]
        assert row["response"].startswith(row["response_language"])


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(1, 300),
    languages=st.lists(st.sampled_from(MAIN), min_size=2, max_size=12, unique=True),
    percent=st.integers(0, 100),
    variant=st.sampled_from(list(CrossVariant)),
    seed=st.integers(0, 1000),
)
def test_cross_properties(
    count: int, languages: list[str], percent: int, variant: CrossVariant, seed: int
) -> None:
    if variant is not CrossVariant.X2X and languages == ["en"]:
        return
    data = synthetic(count)
    mixture = crossin(data, variant, languages, percent, seed)
    rows = assign(data, mixture, seed)
    assert len(rows) == count and len({row["id"] for row in rows}) == count
    shares = [mixture.counts.get(label, 0) for label in cross_pairs(variant, languages)]
    assert max(shares) - min(shares) <= 1
    assert sum(row.get("response_language") is not None for row in rows) == sum(shares)
    assert crossin(data, variant, languages, percent, seed) == mixture  # deterministic


def test_translation_demonstrations_come_on_top() -> None:
    data = synthetic(40, SIX)
    base = monolingual(data, "en")
    mixture = with_translations(data, base, ["en>fi", "fi>en"], 5)
    assert mixture.name == "mono-en+tr5"
    assert mixture.counts == {"en": 40} and mixture.translations == {"en>fi": 5, "fi>en": 5}
    rows = assign(data, mixture, seed=3)
    examples = [row for row in rows if "task" not in row]
    demos = [row for row in rows if row.get("task") == "translation"]
    assert len(examples) == 40 and len(demos) == 10
    for row in demos:
        item = int(row["id"].split("#")[0])
        source, target = row["language"], row["response_language"]
        names = {"en": "English", "fi": "Finnish"}
        assert row["instruction"] == (
            f"Translate the following text from {names[source]} into {names[target]}.\n\n"
            f"{source} instruction {item}"
        )
        assert row["response"] == f"{target} instruction {item}"
    assert rows == assign(data, mixture, seed=3)
    assert rows != assign(data, mixture, seed=4)
    with pytest.raises(MixtureError, match="direction 'fi' must be SOURCE>TARGET"):
        with_translations(data, base, ["fi"], 3)
    with pytest.raises(MixtureError, match="language 'sw' is not in the data"):
        with_translations(data, base, ["en>sw"], 3)
    with pytest.raises(MixtureError, match="41 translations per direction: must be 0–40"):
        with_translations(data, base, ["en>fi"], 41)


def test_bad_cross_requests() -> None:
    data = synthetic(10, ("en", "fi"))
    with pytest.raises(MixtureError, match="crossin-en2x needs a language other than en"):
        crossin(data, CrossVariant.EN2X, ["en"])
    with pytest.raises(MixtureError, match="language 'sw' is not in the data"):
        crossin(data, CrossVariant.X2X, ["fi", "sw"])


def test_on_the_projects_sample(tmp_path: Path) -> None:
    sample = load_parallel(Path("examples/sample_parallel.jsonl"))
    assert (len(sample), sample.languages) == (35, tuple(sorted(SIX)))
    mixture = with_translations(
        sample, crossin(sample, CrossVariant.EN2X, sample.languages, 50), ["en>fi", "fi>en"], 4
    )
    assert mixture.counts["en"] == 17  # round-half-up(17.5) = 18 cross-lingual, 17 English
    folder = write_mixture(sample, mixture, tmp_path, "examples/sample_parallel.jsonl")
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    written = [json.loads(line) for line in (folder / "mixture.jsonl").read_text().splitlines()]
    assert manifest["total"] == len(written) == 35 + 8
    assert manifest["translations"] == {"en>fi": 4, "fi>en": 4}
    labels = Counter(
        f"{row['language']}>{row['response_language']}" if "response_language" in row else "en"
        for row in written
        if "task" not in row
    )
    assert dict(labels) == {k: v for k, v in manifest["counts"].items() if v}


def test_on_real_parallel_data(tmp_path: Path, shared_data: Path) -> None:
    path, rows = oasst_parallel(shared_data, tmp_path)
    data = load_parallel(path)
    x2en = assign(data, crossin(data, CrossVariant.X2EN, ["en", "fi"], 10), seed=0)
    crossed = [row for row in x2en if "response_language" in row]
    assert len(crossed) == 19  # round-half-up(18.8), all fi>en
    by_id = {r["prompt_message_id"]: r for r in rows}
    for row in crossed:
        assert row["instruction"] == by_id[row["id"]]["prompt"]["fi"]
        assert row["response"] == by_id[row["id"]]["response"]["en"]
