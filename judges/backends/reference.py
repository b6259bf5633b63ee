"""A cheap deterministic judge: prefers the answer closer to a reference (chrF, sacrebleu).

For demos, sanity checks and tests. Equal chrF picks Answer1 in both orders, so the pair
comes out a tie under the order swap.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from judges.backends.base import LOCAL, JudgeCall, JudgeReply
from judges.errors import MissingReferenceError
from judges.verdicts import Verdict


class ReferenceJudgeConfig(BaseModel):
    """Settings of the `reference` judge backend (it has none but its kind)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["reference"] = "reference"


@lru_cache(maxsize=4096)
def chrf(hypothesis: str, reference: str) -> float:
    """Sentence-level chrF (sacrebleu defaults: character 6-grams, beta 2), 0–100."""
    return float(_chrf_metric().sentence_score(hypothesis, [reference]).score)


@lru_cache(maxsize=1)
def _chrf_metric() -> Any:
    from sacrebleu.metrics.chrf import CHRF

    return CHRF()


class ReferenceJudge:
    """Answers '1' when chrF(Answer1, reference) ≥ chrF(Answer2, reference), else '2'."""

    cacheable = True
    uses_reference = True
    retries_differ = False

    def __init__(self, config: ReferenceJudgeConfig | None = None) -> None:
        import sacrebleu

        self.identity = f"reference|chrF|sacrebleu-{sacrebleu.__version__}"

    async def judge(self, call: JudgeCall) -> JudgeReply:
        """Compare both answers' chrF to the pair's reference."""
        if call.reference is None or not call.reference.strip():
            raise MissingReferenceError(
                f"pair {call.pair_id!r} has no 'reference'; the reference judge needs one on "
                "every pair (or choose another backend)"
            )
        first, second = chrf(call.first, call.reference), chrf(call.second, call.reference)
        verdict = Verdict.FIRST if first >= second else Verdict.SECOND
        return JudgeReply(raw=verdict.value, verdict=verdict, score_1=first, score_2=second)

    async def probe(self) -> str:
        """Runs in this process: nothing to probe."""
        return LOCAL

    async def aclose(self) -> None:
        """Nothing to release."""
