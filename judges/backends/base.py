"""The protocol every judge backend implements: one prompt in one order → one reply."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from judges.verdicts import Order, Verdict

LOCAL = "local"  # what `Judge.probe` says of a judge that runs in this process


@dataclass(frozen=True, slots=True)
class JudgeCall:
    """One presentation of a pair to the judge: `first` is shown as Answer1.

    `attempt` is 1 for the protocol's greedy call and n for the n-th try after outputs that
    were no verdict (a backend whose `retries_differ` asks differently then).
    """

    pair_id: str
    order: Order
    instruction: str
    first: str
    second: str
    prompt: str
    reference: str | None = None
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class JudgeReply:
    """What the judge said. `verdict` is None when its output is not a valid verdict.

    `score_1` / `score_2` record the judge's evidence per answer where it has one: the
    log-probabilities of '1' and '2' (openai, logprobs mode) or chrF to the reference
    (reference judge). `prompt_tokens` / `completion_tokens` are what the server reported in
    `usage` (None when it reported nothing, as a local judge). `failed` says why there is no
    output at all (a batch row that failed in every try): the reply is invalid, and asking
    again at once, differently, is no remedy (no parse retry is spent on it).
    """

    raw: str
    verdict: Verdict | None
    score_1: float | None = None
    score_2: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    failed: str | None = None

    def fields(self) -> dict[str, Any]:
        """The reply as plain JSON fields (its verdict as its value), as stored and recorded."""
        return {
            "raw": self.raw,
            "verdict": self.verdict.value if self.verdict is not None else None,
            "score_1": self.score_1,
            "score_2": self.score_2,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> JudgeReply:
        """The reply `fields` describe (absent scores and counts: None)."""
        verdict = fields.get("verdict")
        return cls(
            raw=fields["raw"],
            verdict=Verdict(verdict) if verdict is not None else None,
            score_1=fields.get("score_1"),
            score_2=fields.get("score_2"),
            prompt_tokens=fields.get("prompt_tokens"),
            completion_tokens=fields.get("completion_tokens"),
        )


class Judge(Protocol):
    """A judge backend.

    `identity` names everything that makes two verdicts comparable (backend, judge model,
    mode) and is part of the cache key; `cacheable` says whether replies are worth storing;
    `uses_reference` whether the pair's reference answer changes the verdict;
    `retries_differ` whether asking again after an output that was no verdict can give
    another answer (when not, no parse retry is spent).
    """

    identity: str
    cacheable: bool
    uses_reference: bool
    retries_differ: bool

    async def judge(self, call: JudgeCall) -> JudgeReply:
        """Judge one presentation; raise a `JudgeError` rather than invent a verdict."""
        ...

    async def probe(self) -> str:
        """`ok` when the judge answers a one-token request now, `local` for one that runs in
        this process, else what went wrong (one attempt, no retry)."""
        ...

    async def aclose(self) -> None:
        """Release connections and files."""
        ...
