"""Cross-lingual consistency runs: every model answers every item in every language, then the
metrics of `judges.mcq_metrics` per model. Shared by `sxs consistency` and the service's
consistency jobs (durable per (model, item): a resumed job asks only for what is missing).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from common.concurrency import bounded_map
from generators.mcq_client import McqAnswer, McqAnswerer, McqRequest
from generators.mcq_sets import McqItem, McqSet
from judges.errors import ConsistencyError
from judges.mcq_metrics import chance_accuracy, consistency_report
from service.jobs.errors import ConflictingRequestError, NotRegisteredError


@dataclass(frozen=True, slots=True)
class ItemAnswers:
    """One model's answers to one item in every language (None: no option letter)."""

    model: str
    item_id: str
    answers: dict[str, int | None]

    @property
    def key(self) -> str:
        """The job item id."""
        return f"{self.model}\x1f{self.item_id}"


def check_run(
    mcq_set: McqSet,
    languages: Sequence[str],
    s: int,
    reference_accuracy: float | None,
) -> None:
    """Everything about a run that can be wrong before any call."""
    missing = [language for language in languages if language not in mcq_set.languages]
    if missing:
        raise NotRegisteredError(
            "unknown_language",
            f"the set has no {missing[0]!r} (it has: {', '.join(mcq_set.languages)})",
            "languages",
        )
    if not 1 <= s <= len(languages):
        raise ConflictingRequestError(
            "s_too_large", f"s = {s} needs 1 ≤ s ≤ the number of languages ({len(languages)})", "s"
        )
    chance = chance_accuracy([len(item.options[languages[0]]) for item in mcq_set.items])
    if reference_accuracy is not None and reference_accuracy <= chance:
        raise ConflictingRequestError(
            "reference_at_chance",
            f"the reference accuracy {reference_accuracy:g} must exceed chance {chance:.3g}",
            "reference_accuracy",
        )


async def answer_items(
    answerer: McqAnswerer,
    model: str,
    items: Sequence[McqItem],
    languages: Sequence[str],
    on_item: Callable[[ItemAnswers], Awaitable[None]] | None = None,
    on_answer: Callable[[McqAnswer], None] | None = None,
) -> list[ItemAnswers]:
    """`model`'s answers to `items` in every language; `on_item` is awaited with each item's
    `ItemAnswers` as soon as all its languages are answered (items run concurrently within
    the answerer's limit)."""

    async def one(item: McqItem) -> ItemAnswers:
        requests = [McqRequest(model, language, item) for language in languages]
        answers = await answerer.answer(requests, on_answer)
        unit = ItemAnswers(model, item.id, {a.language: a.choice for a in answers})
        if on_item is not None:
            await on_item(unit)
        return unit

    parallel = max(1, answerer.concurrency // max(1, len(languages)))
    return await bounded_map(items, one, parallel)


def reports(
    records: Sequence[ItemAnswers],
    mcq_set: McqSet,
    languages: Sequence[str],
    s: int,
    reference_accuracy: float | None,
    english: str = "en",
) -> dict[str, dict[str, Any]]:
    """model → every metric, from the answers of all its items."""
    right = {item.id: item.right for item in mcq_set.items}
    counts = [len(item.options[languages[0]]) for item in mcq_set.items]
    tables: dict[str, dict[str, dict[str, int | None]]] = {}
    for record in records:
        table = tables.setdefault(record.model, {language: {} for language in languages})
        for language in languages:
            table[language][record.item_id] = record.answers[language]
    try:
        return {
            model: consistency_report(
                table, right, languages, counts, s, reference_accuracy, english
            )
            for model, table in tables.items()
        }
    except ConsistencyError as error:
        raise ConflictingRequestError("no_metrics", str(error), "languages") from None
