"""The request side of comparisons: which judges, which items, what a job for a request is.

Everything here checks a request against what the service has (the registry, the eval sets,
the judges) and answers with a domain error naming the field when it cannot be served; the
runner (`comparisons.py`) and the batch path read requests through it.
"""

from __future__ import annotations

from dataclasses import dataclass

from generators.errors import UnknownModelError
from generators.eval_sets import EvalSet
from generators.registry import Registry
from judges.backends.base import Judge
from judges.errors import MissingReferenceError
from judges.pairs import Pair
from judges.prompts import JudgeTemplate
from service.jobs.envelope import COMPARISON, JobSpec, judge_column
from service.jobs.errors import ConflictingRequestError, NotRegisteredError, TooLargeRequestError
from service.jobs.requests import ComparisonRequest


@dataclass(frozen=True, slots=True)
class Item:
    """One instruction of a comparison, in the order of its eval set."""

    position: int
    id: str
    text: str
    reference: str | None

    def pair(self, language: str, response_a: str, response_b: str) -> Pair:
        """The pair the judge sees: this instruction and both responses."""
        return Pair(
            id=self.id,
            instruction=self.text,
            response_a=response_a,
            response_b=response_b,
            language=language,
            reference=self.reference,
        )


class ComparisonRequests:
    """Checks comparison requests against the service's registry, eval sets and judges."""

    registry: Registry
    eval_sets: dict[str, EvalSet]
    judges: dict[str, Judge]
    default_judge: str
    template: JudgeTemplate
    max_items: int

    def judge_name(self, requested: str | None, field: str = "judge") -> str:
        """The judge a request asks for (the default when none), checked."""
        name = requested or self.default_judge
        if name not in self.judges:
            known = ", ".join(self.judges)
            raise NotRegisteredError(
                "unknown_judge", f"judge {name!r} is not configured ({known})", field
            )
        return name

    def judge_names(self, request: ComparisonRequest, judge: str | None = None) -> list[str]:
        """The judges of a request, checked: its panel, or its one judge (`judge` where the
        job has resolved it already, else the request's or the default)."""
        if request.judges is not None:
            return [self.judge_name(name, "judges") for name in request.judges]
        return [self.judge_name(judge or request.judge)]

    def submission(self, request: ComparisonRequest) -> JobSpec:
        """The job for `request`: its judges (a panel's "a + b + c"), its item count and its
        version (the template, the eval set's content), the request checked in full first (a
        reference judge needs every item's reference: a 409 now, not a failed job later)."""
        names = self.judge_names(request)
        items = self.items(request)
        lacking = [item.id for item in items if item.reference is None]
        readers = [name for name in names if self.judges[name].uses_reference]
        if readers and lacking:
            raise MissingReferenceError(
                f"judge {readers[0]!r} compares each response with the item's reference answer, "
                f"and {len(lacking)} of {len(items)} items have none in {request.language!r} "
                f"(e.g. item {lacking[0]!r}): give each instruction a reference, or choose a "
                "judge that needs none"
            )
        return JobSpec(
            kind=COMPARISON,
            # a dry run is never a job: the stored request, and so the job's id, are without it
            request=request.model_dump(mode="json", exclude={"dry_run"}),
            judge=judge_column(names),
            version=self.template.hash + self.content_digest(request),
            total=len(items),
            resolved={"judges": names},
        )

    def content_digest(self, request: ComparisonRequest) -> str:
        """What the request's instructions are, beyond its fields: the eval set's digest."""
        eval_set = self.eval_sets.get(request.eval_set)
        return "" if request.instructions is not None or eval_set is None else eval_set.digest

    def items(self, request: ComparisonRequest) -> list[Item]:
        """The request's items, checked against the registry and the eval set."""
        if request.model_a == request.model_b:
            raise ConflictingRequestError(
                "same_model",
                "model_a and model_b are the same model: a model against itself scores 50 by "
                "definition",
                "model_b",
            )
        for field in ("model_a", "model_b"):
            try:
                self.registry.served(getattr(request, field))
            except UnknownModelError as error:
                raise NotRegisteredError("unknown_model", str(error), field) from None
        if request.instructions is not None:
            items = [Item(i, x.id, x.text, x.reference) for i, x in enumerate(request.instructions)]
            if len({item.id for item in items}) != len(items):
                raise ConflictingRequestError(
                    "duplicate_id", "instruction ids must be unique", "instructions"
                )
        else:
            items = self._eval_set_items(request)
        if len(items) > self.max_items:
            raise TooLargeRequestError(
                "too_many_items",
                f"{len(items)} items; this service takes at most {self.max_items} per comparison",
                "item_ids",
            )
        return items

    def _eval_set_items(self, request: ComparisonRequest) -> list[Item]:
        eval_set = self.eval_sets.get(request.eval_set)
        if eval_set is None:
            known = ", ".join(self.eval_sets) or "none"
            raise NotRegisteredError(
                "unknown_eval_set",
                f"eval set {request.eval_set!r} is not registered ({known})",
                "eval_set",
            )
        language = request.language
        if language not in eval_set.languages:
            raise NotRegisteredError(
                "unknown_language",
                f"eval set {eval_set.id!r} has no {language!r} instructions "
                f"(it has: {', '.join(eval_set.languages)})",
                "language",
            )
        items = [
            Item(position, item.id, item.text[language], item.reference.get(language))
            for position, item in enumerate(eval_set.items)
        ]
        if request.item_ids is None:
            return items
        by_id = {item.id: item for item in items}
        unknown = [i for i in request.item_ids if i not in by_id]
        if unknown:
            raise NotRegisteredError(
                "unknown_item",
                f"eval set {eval_set.id!r} has no item {unknown[0]!r} ({len(unknown)} unknown)",
                "item_ids",
            )
        return [by_id[i] for i in dict.fromkeys(request.item_ids)]

    def candidate_languages(self, request: ComparisonRequest) -> list[str]:
        """The languages a response may be identified as: the eval set's, or the request's."""
        eval_set = self.eval_sets.get(request.eval_set)
        if request.instructions is None and eval_set is not None:
            return [*eval_set.languages, request.language]
        return [request.language]
