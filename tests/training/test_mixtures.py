"""Mixture builders: exact counts, each example once, determinism, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.errors import InputFileError
from training.errors import MixtureError
from training.languages import MAIN, P_SWEEP, TABLE4_PERMUTATIONS
from training.mixtures import (
    assign,
    bilingual,
    explicit,
    monolingual,
    percent_of,
    subset,
    uniform,
    write_mixture,
)
from training.parallel import ParallelRecord, ParallelSet, read_parallel


def synthetic(count: int, languages: tuple[str, ...] = MAIN) -> ParallelSet:
    records = [
        ParallelRecord(
            id=f"{i:05d}",
            instruction={lang: f"{lang} instruction {i}" for lang in languages},
            response={lang: f"{lang} response {i}" for lang in languages},
        )
        for i in range(count)
    ]
    return ParallelSet(records, tuple(sorted(languages)))


def test_one_percent_of_4640_is_the_papers_pinch() -> None:
    data = synthetic(4640)
    mixture = uniform(data, 1, MAIN, seed=3)
    multilingual = {lang: n for lang, n in mixture.counts.items()}
    english_rest = 4640 - 46
    assert percent_of(4640, 1) == 46  # round-half-up(46.4)
    spread_counts = [multilingual[lang] - (english_rest if lang == "en" else 0) for lang in MAIN]
    assert sum(spread_counts) == 46
    assert sorted(spread_counts) == [3, 3] + [4] * 10  # 46 = 12 · 3 + 10
    non_english = 46 - spread_counts[MAIN.index("en")]
    assert non_english in (42, 43)
    assert sum(mixture.counts.values()) == 4640
    rows = assign(data, mixture, seed=3)
    assert sorted(row["id"] for row in rows) == [f"{i:05d}" for i in range(4640)]
    assert sum(row["language"] != "en" for row in rows) == non_english


@pytest.mark.parametrize("percent", P_SWEEP)
def test_the_sweep_spreads_evenly(percent: int) -> None:
    data = synthetic(4640)
    counts = uniform(data, percent, MAIN).counts
    budget = percent_of(4640, percent)
    shares = {lang: counts[lang] - (4640 - budget if lang == "en" else 0) for lang in MAIN}
    assert max(shares.values()) - min(shares.values()) <= 1
    assert sum(counts.values()) == 4640


def test_determinism_per_seed() -> None:
    data = synthetic(300)
    mixture = uniform(data, 50, MAIN, seed=1)
    assert assign(data, mixture, seed=1) == assign(data, mixture, seed=1)
    assert assign(data, mixture, seed=1) != assign(data, mixture, seed=2)
    # 150 over 12 languages: 6 of them get a 13th example, chosen by the seed
    assert uniform(data, 50, MAIN, seed=1).counts != uniform(data, 50, MAIN, seed=2).counts


def test_monolingual_bilingual_explicit_and_subsets() -> None:
    data = synthetic(101)
    assert monolingual(data, "fi").counts == {"fi": 101}
    pair = bilingual(data, "en", "sw").counts
    assert sorted(pair.values()) == [50, 51]
    mix = explicit(data, {"en": 0.7, "ru": 0.2, "zh": 0.1}).counts
    assert mix == {"en": 71, "ru": 20, "zh": 10}  # 70.7 / 20.2 / 10.1: the 1 left goes to en
    assert sum(mix.values()) == 101
    permutation = TABLE4_PERMUTATIONS[0]
    for n in range(1, 7):
        counts = subset(data, permutation, n, 60).counts
        assert set(counts) == {*permutation[:n], "en"}
        assert sum(counts.values()) == 101


@settings(max_examples=80, deadline=None)
@given(
    count=st.integers(1, 400),
    languages=st.lists(st.sampled_from(MAIN), min_size=1, max_size=12, unique=True),
    percent=st.integers(0, 100),
    seed=st.integers(0, 10**6),
)
def test_properties(count: int, languages: list[str], percent: int, seed: int) -> None:
    data = synthetic(count)
    mixture = uniform(data, percent, languages, seed)
    rows = assign(data, mixture, seed)
    assert len(rows) == count
    assert len({row["id"] for row in rows}) == count  # each example once
    budget = percent_of(count, percent)
    shares = [mixture.counts[lang] - (count - budget if lang == "en" else 0) for lang in languages]
    assert sum(shares) == budget
    assert max(shares) - min(shares) <= 1
    for row in rows:
        assert row["instruction"].startswith(row["language"])


def test_bad_input() -> None:
    data = synthetic(10, ("en", "fi"))
    with pytest.raises(MixtureError, match=r"language 'sw' is not in the data \(it has: en, fi\)"):
        uniform(data, 10, ["fi", "sw"])
    with pytest.raises(MixtureError, match="P = 101 is outside 0–100"):
        uniform(data, 101, ["fi"])
    with pytest.raises(MixtureError, match="the parallel set is empty"):
        monolingual(ParallelSet([], ("en",)), "en")
    with pytest.raises(MixtureError, match="sum to 1"):
        explicit(data, {"en": 0.5, "fi": 0.6})
    with pytest.raises(MixtureError, match="n = 7"):
        subset(data, TABLE4_PERMUTATIONS[0], 7, 10)


def test_reading_parallel_files(tmp_path: Path) -> None:
    good = {"id": 1, "instruction": {"en": "a", "fi": "b"}, "response": {"en": "c", "fi": "d"}}
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(good | {"id": 2}) + "\n", "utf-8")
    assert read_parallel(path).languages == ("en", "fi")
    lost = good | {"id": 3, "instruction": {"en": "a"}, "response": {"en": "c"}}
    path.write_text(json.dumps(good) + "\n" + json.dumps(lost) + "\n", "utf-8")
    with pytest.raises(InputFileError, match=r"set.jsonl:2: id '3' is not aligned: language 'fi'"):
        read_parallel(path)
    path.write_text("", "utf-8")
    with pytest.raises(InputFileError, match="holds no records"):
        read_parallel(path)


def test_writing_is_whole_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = synthetic(50, ("en", "fi"))
    mixture = uniform(data, 20, ["fi"], seed=1)
    target = write_mixture(data, mixture, tmp_path, source="synthetic", seed=1)
    manifest = json.loads((target / "manifest.json").read_text("utf-8"))
    assert manifest["counts"] == {"en": 40, "fi": 10}
    assert manifest["recipe"]["percent"] == 20
    assert len((target / "mixture.jsonl").read_text("utf-8").splitlines()) == 50

    calls = {"n": 0}
    real_dumps = json.dumps

    def failing(*args: Any, **kwargs: Any) -> str:
        calls["n"] += 1
        if calls["n"] > 10:
            raise OSError("disk full")
        return real_dumps(*args, **kwargs)

    monkeypatch.setattr("training.mixtures.json.dumps", failing)
    with pytest.raises(OSError, match="disk full"):
        write_mixture(data, uniform(data, 40, ["fi"]), tmp_path, source="synthetic")
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # nothing half-written


def oasst_parallel(shared_data: Path, folder: Path) -> tuple[Path, list[dict[str, Any]]]:
    """The 188 OpenAssistant en/fi items of ../shared/data as a parallel JSONL file."""
    source = shared_data / "oasst" / "oasst1_val_first_turn_188_en_fi.jsonl"
    rows = [json.loads(line) for line in source.read_text("utf-8").splitlines()]
    path = folder / "oasst.jsonl"
    records = (
        {"id": r["prompt_message_id"], "instruction": r["prompt"], "response": r["response"]}
        for r in rows
    )
    path.write_text("".join(json.dumps(record) + "\n" for record in records), "utf-8")
    return path, rows


def test_on_real_parallel_data(tmp_path: Path, shared_data: Path) -> None:
    path, rows = oasst_parallel(shared_data, tmp_path)
    data = read_parallel(path)
    assert (len(data), data.languages) == (188, ("en", "fi"))
    assert uniform(data, 10, ["fi"], seed=0).counts == {"fi": 19, "en": 169}  # 18.8 → 19
    assert bilingual(data, "en", "fi").counts == {"en": 94, "fi": 94}
    mixed = assign(data, uniform(data, 50, ["en", "fi"]))
    assert sum(row["language"] == "fi" for row in mixed) == 47  # 94 over en and fi: 47 each
    fi_rows = [row for row in mixed if row["language"] == "fi"]
    by_id = {r["prompt_message_id"]: r for r in rows}
    assert all(row["instruction"] == by_id[row["id"]]["prompt"]["fi"] for row in fi_rows)
