"""Replay: verdicts read from a results file of `sxs judge` instead of asking a judge.

For re-scoring recorded judgments (another template of statistics, a subset) and for agreement
studies. The recorded verdict is replayed as it was, whichever mode gave it (a logprobs-mode
verdict comes from the log-probabilities, not from the raw text), with its scores; a record
without a `verdict` field (written by hand) has its raw output parsed as strictly as a live one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from common.jsonl import read_models
from judges.backends.base import LOCAL, JudgeCall, JudgeReply
from judges.errors import ReplayMissingError
from judges.results import RecordedCall, RecordedPair
from judges.verdicts import Order, parse_verdict


class ReplayJudgeConfig(BaseModel):
    """Settings of the `replay` judge backend."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["replay"] = "replay"
    path: Path


class ReplayJudge:
    """Answers with the raw output recorded for the same pair id and order."""

    cacheable = False
    uses_reference = False
    retries_differ = False

    def __init__(self, config: ReplayJudgeConfig) -> None:
        self.path = config.path
        self._replies: dict[tuple[str, Order], JudgeReply] = {}
        for _, record in read_models(config.path, RecordedPair):
            for order, call in ((Order.AB, record.ab), (Order.BA, record.ba)):
                if call is not None:
                    self._replies[(record.id, order)] = _replayed(call)
        digest = hashlib.sha256(config.path.read_bytes()).hexdigest()[:16]
        self.identity = f"replay|{digest}"

    async def judge(self, call: JudgeCall) -> JudgeReply:
        """The recorded output for this pair and order."""
        reply = self._replies.get((call.pair_id, call.order))
        if reply is None:
            raise ReplayMissingError(
                f"{self.path} records no {call.order.value!r} verdict for pair "
                f"{call.pair_id!r}; replay needs the same ids as the recorded run"
            )
        return reply

    async def probe(self) -> str:
        """Runs in this process: nothing to probe."""
        return LOCAL

    async def aclose(self) -> None:
        """Nothing to release."""


def _replayed(call: RecordedCall) -> JudgeReply:
    recorded = "verdict" in call.model_fields_set
    return JudgeReply(
        raw=call.raw,
        verdict=call.verdict if recorded else parse_verdict(call.raw),
        score_1=call.score_1,
        score_2=call.score_2,
    )
