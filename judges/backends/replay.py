"""Replay: verdicts read from a results file of `sxs judge` instead of asking a judge.

For re-scoring recorded judgments (another template of statistics, a subset) and for agreement
studies. Each recorded raw output is parsed again as strictly as a live one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from common.jsonl import read_models
from judges.backends.base import JudgeCall, JudgeReply
from judges.errors import ReplayMissingError
from judges.results import RecordedPair
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

    def __init__(self, config: ReplayJudgeConfig) -> None:
        self.path = config.path
        self._raw: dict[tuple[str, Order], str] = {}
        for _, record in read_models(config.path, RecordedPair):
            for order, call in ((Order.AB, record.ab), (Order.BA, record.ba)):
                if call is not None:
                    self._raw[(record.id, order)] = call.raw
        digest = hashlib.sha256(config.path.read_bytes()).hexdigest()[:16]
        self.identity = f"replay|{digest}"

    async def judge(self, call: JudgeCall) -> JudgeReply:
        """The recorded output for this pair and order."""
        raw = self._raw.get((call.pair_id, call.order))
        if raw is None:
            raise ReplayMissingError(
                f"{self.path} records no {call.order.value!r} verdict for pair "
                f"{call.pair_id!r}; replay needs the same ids as the recorded run"
            )
        return JudgeReply(raw=raw, verdict=parse_verdict(raw))

    async def aclose(self) -> None:
        """Nothing to release."""
