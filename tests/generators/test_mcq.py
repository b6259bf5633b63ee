"""Parallel multiple-choice sets and answering by option-letter log-probabilities."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from common.errors import InputFileError
from common.openai_http import ClientSettings
from generators.errors import GenerationRejectedError, UnknownModelError
from generators.mcq_client import McqAnswerer, McqRequest
from generators.mcq_sets import read_mcq_set
from generators.registry import load_registry
from service.settings import SAMPLE_MCQ_SET
from tests.service.fakes import Backends, mcq_letter, write_registry

GOOD: dict[str, Any] = {
    "id": "1",
    "question": {"en": "Two plus two?", "fi": "Kaksi plus kaksi?"},
    "options": {"en": ["3", "4", "5"], "fi": ["3", "4", "5"]},
    "answer": {"en": 1, "fi": 1},
}


def write(path: Path, *items: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items), "utf-8")
    return path


def test_the_sample_set_and_its_prompt() -> None:
    sample = read_mcq_set(SAMPLE_MCQ_SET)
    assert len(sample.items) >= 30 and sample.languages == ("en", "es", "fi", "ru")
    assert sample.items[0].prompt("en") == (
        "How many legs does a cat have?\n\nA. Two\nB. Four\nC. Six\nD. Eight\n\nAnswer:"
    )
    assert sample.items[0].right == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"answer": {"en": 1, "fi": 2}}, "item '1' is misaligned across languages"),
        ({"options": {"en": ["3", "4", "5"], "fi": ["3", "4"]}}, "misaligned"),
        ({"answer": {"en": 3, "fi": 3}}, "answer 3 is out of range in 'en' (options 0–2)"),
        ({"options": {"en": ["3", "4", "5"]}}, "options and question differ in 'fi'"),
        ({"options": {"en": ["x"], "fi": ["x"]}, "answer": {"en": 0, "fi": 0}}, "1 options"),
    ],
)
def test_bad_items_are_named(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    path = write(tmp_path / "set.jsonl", GOOD | change)
    with pytest.raises(InputFileError, match=re.escape(message)):
        read_mcq_set(path)


def test_items_must_share_languages_and_ids(tmp_path: Path) -> None:
    other = GOOD | {"id": "2", "question": {"en": "?", "sw": "?"}}
    other |= {"options": {"en": ["a", "b"], "sw": ["a", "b"]}, "answer": {"en": 0, "sw": 0}}
    with pytest.raises(InputFileError, match=r"set.jsonl:2: item '2': language 'fi' is missing"):
        read_mcq_set(write(tmp_path / "set.jsonl", GOOD, other))
    with pytest.raises(InputFileError, match="item '1' repeats"):
        read_mcq_set(write(tmp_path / "set.jsonl", GOOD, GOOD))


def test_answers_come_from_letter_logprobs_and_are_cached(tmp_path: Path) -> None:
    backends = Backends()
    registry = load_registry(write_registry(tmp_path))
    sample = read_mcq_set(SAMPLE_MCQ_SET)
    requests = [
        McqRequest(model, language, item)
        for model in ("good", "bad")
        for item in sample.items[:5]
        for language in sample.languages
    ]

    async def run() -> tuple[list[int | None], int, int]:
        answerer = McqAnswerer(
            registry, tmp_path / "sxs.db", client=ClientSettings(transport=backends.transport())
        )
        try:
            answers = await answerer.answer(requests)
        finally:
            await answerer.aclose()
        return [a.choice for a in answers], answerer.calls, answerer.cache_hits

    choices, calls, hits = asyncio.run(run())
    expected = ["ABCD".index(mcq_letter(r.model, r.item.prompt(r.language))) for r in requests]
    assert choices == expected
    assert (calls, hits) == (40, 0)
    again, calls, hits = asyncio.run(run())
    assert again == expected and (calls, hits) == (0, 40)
    assert sum(backends.mcq.values()) == 40


def test_no_letter_among_the_top_tokens_is_no_answer(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        top = [{"token": "Hello", "logprob": -0.1, "bytes": []}]
        choice = {"index": 0, "message": {"role": "assistant", "content": "Hello"},
                  "logprobs": {"content": [{"token": "Hello", "logprob": -0.1,
                                            "top_logprobs": top}]}}  # fmt: skip
        return httpx.Response(200, json={"choices": [choice]})

    registry = load_registry(write_registry(tmp_path))
    item = read_mcq_set(SAMPLE_MCQ_SET).items[0]

    async def run() -> int | None:
        answerer = McqAnswerer(
            registry, client=ClientSettings(transport=httpx.MockTransport(handler))
        )
        try:
            (answer,) = await answerer.answer([McqRequest("good", "en", item)])
        finally:
            await answerer.aclose()
        return answer.choice

    assert asyncio.run(run()) is None
    with pytest.raises(UnknownModelError, match="model 'ghost' is not in the registry"):
        McqAnswerer(registry).key(McqRequest("ghost", "en", item))

    def missing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": {"message": "The model does not exist."}})

    async def refused() -> None:
        answerer = McqAnswerer(
            registry, client=ClientSettings(transport=httpx.MockTransport(missing))
        )
        try:
            await answerer.answer([McqRequest("good", "en", item)])
        finally:
            await answerer.aclose()

    with pytest.raises(GenerationRejectedError, match=r"model 'good'.*HTTP 404"):
        asyncio.run(refused())
