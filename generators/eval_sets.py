"""Parallel evaluation sets: one item id, its instruction in each language.

    {"id": "7", "text": {"en": "Name a fruit.", "es": "Nombra una fruta."},
     "reference": {"en": "A banana.", "es": "Un plátano."}}

`reference` (optional) holds reference answers, read by the reference judge.

`question_id` or `pos` are read as the id where `id` is absent (the public parallel sets in
shared/data use them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from common.errors import InputFileError
from common.jsonl import TextId, read_models
from common.store import content_key


class EvalItem(BaseModel):
    """One instruction of an evaluation set, in every language it has."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: TextId = Field(validation_alias=AliasChoices("id", "question_id", "pos"))
    text: dict[str, str] = Field(min_length=1)
    reference: dict[str, str] = Field(default_factory=dict)

    @field_validator("text")
    @classmethod
    def _no_blank_instruction(cls, text: dict[str, str]) -> dict[str, str]:
        for language, instruction in text.items():
            if not instruction.strip():
                raise ValueError(f"the {language!r} instruction is empty")
        return text


def read_eval_set(path: Path) -> list[EvalItem]:
    """Every item of a parallel JSONL eval set; ids must be unique."""
    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    for number, item in read_models(path, EvalItem):
        if item.id in seen:
            raise InputFileError(str(path), number, f"id {item.id!r} repeats line {seen[item.id]}")
        seen[item.id] = number
        items.append(item)
    return items


def reference_answers(path: Path) -> dict[tuple[str, str], str]:
    """Every reference answer of an eval set, by (item id, language)."""
    return {
        (str(item.id), language): text
        for item in read_eval_set(path)
        for language, text in item.reference.items()
    }


def languages_of(items: list[EvalItem]) -> list[str]:
    """The languages every item has, sorted."""
    common = set(items[0].text)
    for item in items[1:]:
        common &= set(item.text)
    return sorted(common)


def instructions_in(items: list[EvalItem], language: str, path: Path) -> list[tuple[str, str]]:
    """(id, instruction) of every item in `language`; an item without it is an error."""
    missing = [item.id for item in items if language not in item.text]
    if missing:
        have = ", ".join(languages_of(items)) or "none"
        raise InputFileError(
            str(path),
            None,
            f"{len(missing)} items have no {language!r} instruction (first: id {missing[0]!r}); "
            f"languages every item has: {have}",
        )
    return [(item.id, item.text[language]) for item in items]


@dataclass(frozen=True)
class EvalSet:
    """A registered eval set: its items read and validated once, and a digest of their content."""

    id: str
    path: Path
    items: list[EvalItem]
    digest: str  # of the items' content: part of a job's id, so an edited set is a new job

    @property
    def languages(self) -> list[str]:
        """The languages every item has."""
        return languages_of(self.items)


def load_eval_sets(paths: dict[str, Path]) -> dict[str, EvalSet]:
    """Every configured eval set, read and validated once at start-up."""
    sets = {}
    for name, path in paths.items():
        items = read_eval_set(path)
        digest = content_key([item.model_dump(mode="json") for item in items])[:16]
        sets[name] = EvalSet(name, path, items, digest)
    return sets
