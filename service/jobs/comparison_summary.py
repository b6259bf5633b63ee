"""A comparison's summary from its stored items: each response's language checked once, the
statistics of `judges.statistics` (the length-controlled bootstrap only for the final one)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from judges.language_control import LanguagePolicy
from judges.response_language import in_language
from judges.results import RecordedPair
from judges.statistics import Summary, summarize
from service.jobs.requests import ComparisonRequest

LENGTH_BOOTSTRAP = 1000  # refits for the length-controlled score's CI
OnLanguage = tuple[bool | None, bool | None]  # whether response A / B is in the language


def summary_of_records(
    records: list[dict[str, Any]],
    request: ComparisonRequest,
    candidates: list[str],
    final: bool,
    checked: Mapping[str, OnLanguage],
) -> tuple[Summary, dict[str, OnLanguage]]:
    """The summary, and the language checks made for items not in `checked` (by item id)."""
    pairs, new = [], {}
    for record in records:
        recorded = RecordedPair.model_validate(record)
        on_language = checked.get(recorded.id)
        if on_language is None:
            on_language = new[recorded.id] = responses_on_language(record, request, candidates)
        pairs.append(recorded.judged(*on_language))
    return summarize(pairs, length_samples=LENGTH_BOOTSTRAP if final else None), new


def responses_on_language(
    record: dict[str, Any], request: ComparisonRequest, candidates: list[str]
) -> OnLanguage:
    """Whether each response is in the request's language; unknown without a policy."""
    texts = (record.get("response_a"), record.get("response_b"))
    if request.language_policy is LanguagePolicy.NONE:
        return None, None
    if not isinstance(texts[0], str) or not isinstance(texts[1], str):
        return None, None
    return (
        in_language(texts[0], request.language, candidates),
        in_language(texts[1], request.language, candidates),
    )
