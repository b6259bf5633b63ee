"""A scripted judge implementing the `Judge` protocol, for protocol tests."""

from __future__ import annotations

from collections.abc import Callable

from judges.backends.base import JudgeCall, JudgeReply
from judges.verdicts import parse_verdict


class ScriptedJudge:
    """Answers `script(call)` (raw text, parsed strictly) and records every call."""

    cacheable = True
    uses_reference = False
    retries_differ = True

    def __init__(self, script: Callable[[JudgeCall], str], identity: str = "scripted") -> None:
        self.script = script
        self.identity = identity
        self.calls: list[JudgeCall] = []

    async def judge(self, call: JudgeCall) -> JudgeReply:
        self.calls.append(call)
        raw = self.script(call)
        return JudgeReply(raw=raw, verdict=parse_verdict(raw))

    async def probe(self) -> str:
        """Runs in this process: nothing to probe."""
        return "local"

    async def aclose(self) -> None:
        return None


def longer_wins(call: JudgeCall) -> str:
    """Prefers the longer answer; Answer1 on equal length (a position bias)."""
    return "1" if len(call.first) >= len(call.second) else "2"
