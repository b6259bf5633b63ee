"""Parallel multiple-choice sets: per item, the question and its options in every language.

    {"id": "q1", "question": {"en": "…", "fi": "…"},
     "options": {"en": ["…", "…", "…", "…"], "fi": [...]}, "answer": {"en": 2, "fi": 2}}

The options are parallel (option k is the same answer in every language), so an item must
have the same number of options and the same right answer (0-based) in every language, and
every item the same languages; each problem is an error naming the item and the language.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from common.errors import InputFileError
from common.jsonl import TextId, read_models

LETTERS = string.ascii_uppercase


class McqItem(BaseModel):
    """One question in every language of the set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: TextId = Field(min_length=1)
    question: dict[str, str] = Field(min_length=1)
    options: dict[str, list[str]]
    answer: dict[str, int]

    @model_validator(mode="after")
    def _aligned(self) -> McqItem:
        languages = set(self.question)
        for field, given in (("options", set(self.options)), ("answer", set(self.answer))):
            if given != languages:
                odd = sorted(languages ^ given)[0]
                raise ValueError(f"item {self.id!r}: {field} and question differ in {odd!r}")
        counts = {language: len(options) for language, options in self.options.items()}
        for language, count in counts.items():
            if not 2 <= count <= len(LETTERS):
                raise ValueError(f"item {self.id!r} has {count} options in {language!r} (2–26)")
            if not 0 <= self.answer[language] < count:
                raise ValueError(
                    f"item {self.id!r}: answer {self.answer[language]} is out of range in "
                    f"{language!r} (options 0–{count - 1})"
                )
        if len(set(counts.values())) > 1 or len(set(self.answer.values())) > 1:
            detail = ", ".join(f"{lang}: {counts[lang]} options, answer {self.answer[lang]}"
                               for lang in sorted(counts))  # fmt: skip
            raise ValueError(f"item {self.id!r} is misaligned across languages ({detail})")
        return self

    @property
    def right(self) -> int:
        """The index of the right option (the same in every language)."""
        return next(iter(self.answer.values()))

    def prompt(self, language: str) -> str:
        """The question and lettered options, ending where the answer letter starts."""
        lines = [self.question[language].strip(), ""]
        lines += [f"{LETTERS[k]}. {option}" for k, option in enumerate(self.options[language])]
        return "\n".join([*lines, "", "Answer:"])


@dataclass(frozen=True)
class McqSet:
    """Aligned items and the languages they all have."""

    items: list[McqItem]
    languages: tuple[str, ...]


def read_mcq_set(path: Path) -> McqSet:
    """A parallel multiple-choice JSONL file: unique ids, the same languages in every item."""
    rows = read_models(path, McqItem)
    expected = set(rows[0][1].question)
    seen: set[str] = set()
    for number, item in rows:
        if item.id in seen:
            raise InputFileError(str(path), number, f"item {item.id!r} repeats")
        seen.add(item.id)
        if set(item.question) != expected:
            odd = sorted(set(item.question) ^ expected)[0]
            state = "missing" if odd in expected else "extra"
            raise InputFileError(
                str(path), number, f"item {item.id!r}: language {odd!r} is {state}"
            )
    return McqSet([item for _, item in rows], tuple(sorted(expected)))
