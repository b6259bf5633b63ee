"""Per-pair results as JSON records: lines of `sxs judge`'s results files (read back by the
replay judge) and the stored items of a comparison, by one judge or by a panel."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from judges.panel import PanelResult, majority
from judges.statistics import JudgedPair
from judges.sxs import JudgedCall, PairResult
from judges.usage import TokenUsage, reply_usage, total
from judges.verdicts import Outcome, Verdict


class Label(StrEnum):
    """A preference label as used for agreement: A better, B better, or a tie."""

    A = "1"
    B = "2"
    TIE = "tie"


_LABELS = {Outcome.WIN: Label.A, Outcome.LOSS: Label.B, Outcome.TIE: Label.TIE}


def label_of(outcome: Outcome) -> Label | None:
    """The agreement label of an outcome; None for invalid pairs."""
    return _LABELS.get(outcome)


class RecordedCall(BaseModel):
    """One judge reply as stored in a results file."""

    model_config = ConfigDict(extra="ignore")

    raw: str
    verdict: Verdict | None = None
    score_1: float | None = None
    score_2: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    attempts: int = 0
    cached: bool = False

    @property
    def usage(self) -> TokenUsage:
        """The tokens this reply cost, as its server reported them."""
        return reply_usage(self.prompt_tokens, self.completion_tokens)


class RecordedVote(BaseModel):
    """One panel judge's outcome for a pair and its two calls (None for identical responses)."""

    model_config = ConfigDict(extra="ignore")

    outcome: Outcome
    ab: RecordedCall | None = None
    ba: RecordedCall | None = None


def response_fields(record: dict[str, Any]) -> dict[str, Any]:
    """`empty_*` and `length_*` (characters) of the responses a record carries."""
    fields: dict[str, Any] = {}
    for side in ("a", "b"):
        response = record.get(f"response_{side}")
        if isinstance(response, str):
            fields |= {f"empty_{side}": not response.strip(), f"length_{side}": len(response)}
    return fields


def _verdict(call: RecordedCall | None) -> Verdict | None:
    return call.verdict if call is not None else None


def _usage(*calls: RecordedCall | None) -> TokenUsage:
    return total(call.usage for call in calls if call is not None)


class RecordedPair(BaseModel):
    """One line of a results file, or one stored item of a comparison (fields beyond these
    are ignored on reading). A panel's pair has no `ab` / `ba` of its own: its `panel` holds
    every judge's vote, and its verdicts are their majority (`judges.panel`). Records written
    before `empty_*` / `length_*` existed get them from their responses where they carry
    them."""

    model_config = ConfigDict(extra="ignore")

    id: str
    outcome: Outcome
    identical: bool = False
    empty_a: bool = False
    empty_b: bool = False
    length_a: int | None = None
    length_b: int | None = None
    ab: RecordedCall | None = None
    ba: RecordedCall | None = None
    panel: dict[str, RecordedVote] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_responses(cls, data: Any) -> Any:
        return response_fields(data) | data if isinstance(data, dict) else data

    def judged(
        self, on_language_a: bool | None = None, on_language_b: bool | None = None
    ) -> JudgedPair:
        """What statistics need of this record (with the language checks, when made)."""
        ab, ba, votes = _verdict(self.ab), _verdict(self.ba), None
        usage = _usage(self.ab, self.ba)
        if self.panel is not None:
            votes = {judge: JudgedPair(vote.outcome, _verdict(vote.ab), _verdict(vote.ba),
                                       identical=self.identical, usage=_usage(vote.ab, vote.ba))
                     for judge, vote in self.panel.items()}  # fmt: skip
            ab = majority(vote.ab for vote in votes.values())
            ba = majority(vote.ba for vote in votes.values())
            usage = total(vote.usage for vote in votes.values())
        return JudgedPair(
            outcome=self.outcome,
            ab=ab,
            ba=ba,
            identical=self.identical,
            empty_a=self.empty_a,
            empty_b=self.empty_b,
            length_a=self.length_a,
            length_b=self.length_b,
            on_language_a=on_language_a,
            on_language_b=on_language_b,
            votes=votes,
            usage=usage,
        )


def _call_record(call: JudgedCall | None) -> dict[str, Any] | None:
    if call is None:
        return None
    return call.reply.fields() | {"attempts": call.attempts, "cached": call.cached}


def result_record(result: PairResult | PanelResult) -> dict[str, Any]:
    """The JSON-ready record of one pair's result, by one judge or by a panel."""
    label = label_of(result.outcome)
    if isinstance(result, PanelResult):
        calls: dict[str, Any] = {"ab": None, "ba": None, "panel": {
            judge: {"outcome": vote.outcome.value, "ab": _call_record(vote.ab),
                    "ba": _call_record(vote.ba)}
            for judge, vote in result.votes.items()
        }}  # fmt: skip
    else:
        calls = {"ab": _call_record(result.ab), "ba": _call_record(result.ba)}
    return {
        "id": result.pair.id,
        "language": result.pair.language,
        "outcome": result.outcome.value,
        "score": result.outcome.score,
        "label": label.value if label is not None else None,
        "identical": result.identical,
        "empty_a": result.pair.empty_a,
        "empty_b": result.pair.empty_b,
        "length_a": len(result.pair.response_a),
        "length_b": len(result.pair.response_b),
    } | calls


def judged_pair(result: PairResult | PanelResult) -> JudgedPair:
    """What statistics need of a result."""
    return RecordedPair.model_validate(result_record(result)).judged()
