"""The project's own parallel sets (examples/README.md): whole in every language, the
evaluation set disjoint from the training set, and each text in its language."""

from __future__ import annotations

import json
from pathlib import Path

from judges.response_language import language_of
from training.parallel import load_parallel

EXAMPLES = Path("examples")
LANGUAGES = ("en", "es", "fi", "hi", "ru", "zh")


def eval_rows() -> list[dict[str, dict[str, str]]]:
    lines = (EXAMPLES / "parallel_eval.jsonl").read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_the_training_set_is_parallel_in_every_demo_language() -> None:
    data = load_parallel(EXAMPLES / "parallel_train.jsonl")
    assert len(data.records) == 125
    assert set(LANGUAGES) <= set(data.languages)
    for item in data.records:
        for language in LANGUAGES:
            assert item.instruction[language].strip() and item.response[language].strip()


def test_no_evaluation_instruction_is_trained_on() -> None:
    data = load_parallel(EXAMPLES / "parallel_train.jsonl")
    rows = eval_rows()
    assert len(rows) == 30
    for language in LANGUAGES:
        trained = {item.instruction[language] for item in data.records}
        evaluated = {row["text"][language] for row in rows}
        assert len(evaluated) == len(rows) and not trained & evaluated, language
        references = {row["reference"][language] for row in rows}
        assert not references & {item.response[language] for item in data.records}, language


def test_each_text_is_in_its_language() -> None:
    data = load_parallel(EXAMPLES / "parallel_train.jsonl")
    texts = {language: [] for language in LANGUAGES}  # type: dict[str, list[str]]
    for item in data.records:
        for language in LANGUAGES:
            texts[language] += [item.instruction[language], item.response[language]]
    for row in eval_rows():
        for language in LANGUAGES:
            texts[language] += [row["text"][language], row["reference"][language]]
    for language, found in texts.items():
        right = sum(language_of(text, LANGUAGES) == language for text in found)
        assert right >= 0.9 * len(found), (language, right, len(found))
