"""The order-swapped side-by-side protocol over many pairs.

Each pair (A, B) is shown to the judge as (A, B) and as (B, A). Identical responses are a tie
with no judge call. An empty response (nothing but whitespace) is judged as it is, like any
other: the judge sees an empty answer (two empty responses are identical, a tie); summaries
count empty responses per side. An output that is not a verdict is asked again, at most
`parse_attempts` times in all, when the judge's retries can differ (`Judge.retries_differ`:
the openai backend samples its retries, see there), then recorded as invalid; a reply that
`failed` (no output at all, e.g. a batch row) is recorded as invalid at once. Every reply is
stored in the cache as it comes (in batches of `flush_every`, and always before an error or
interruption propagates); invalid replies are asked again by a later run (`judges.cache`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from common.concurrency import bounded_map
from common.single_flight import SingleFlight
from common.store import off_loop
from judges.backends.base import Judge, JudgeCall, JudgeReply
from judges.cache import JudgmentCache, judgment_key
from judges.claims import JudgmentClaims
from judges.pairs import Pair
from judges.prompts import PAPER_TEMPLATE, JudgeTemplate
from judges.verdicts import Order, Outcome, Verdict, outcome_of


@dataclass(frozen=True, slots=True)
class JudgedCall:
    """A judge reply for one order; `attempts` = judge calls made (0 when `cached`: taken from
    the store, or from an identical presentation judged at the same time)."""

    reply: JudgeReply
    attempts: int
    cached: bool

    @property
    def verdict(self) -> Verdict | None:
        """The parsed verdict, None when invalid."""
        return self.reply.verdict


@dataclass(frozen=True, slots=True)
class PairResult:
    """The outcome for A of one pair; `ab` and `ba` are None for identical responses."""

    pair: Pair
    outcome: Outcome
    ab: JudgedCall | None
    ba: JudgedCall | None

    @property
    def identical(self) -> bool:
        """Whether the pair was a tie by identity, with no judge call."""
        return self.ab is None

    @property
    def calls(self) -> list[JudgedCall]:
        """The judge calls made (or taken from the cache) for the pair."""
        return [call for call in (self.ab, self.ba) if call is not None]


@dataclass(slots=True)
class RunCounts:
    """What a run cost: judge replies received (parse retries included), replies taken from
    the cache, replies written to it, and replies shared with an identical call in flight."""

    judge_calls: int = 0
    cache_hits: int = 0
    parse_retries: int = 0
    stored: int = 0
    shared: int = 0


def presentations(pair: Pair, template: JudgeTemplate) -> tuple[JudgeCall, JudgeCall]:
    """The pair rendered in both orders: (A as Answer1, B as Answer1)."""

    def shown(order: Order, first: str, second: str) -> JudgeCall:
        prompt = template.render(pair.instruction, first, second)
        return JudgeCall(pair.id, order, pair.instruction, first, second, prompt, pair.reference)

    ab = shown(Order.AB, pair.response_a, pair.response_b)
    ba = shown(Order.BA, pair.response_b, pair.response_a)
    return ab, ba


def asks_again(reply: JudgeReply, attempts: int, parse_attempts: int, retries_differ: bool) -> bool:
    """The parse-retry rule: a reply that is no verdict (and no failure) is asked again while
    attempts remain, if the judge's retries can differ from its first answer."""
    return (
        reply.verdict is None
        and reply.failed is None
        and attempts < parse_attempts
        and retries_differ
    )


def paid_together(earlier: JudgeReply | None, reply: JudgeReply) -> JudgeReply:
    """`reply` with the tokens of the `earlier` attempts added: a reply's usage is what it
    cost to get (unknown as soon as one attempt's usage is)."""
    if earlier is None:
        return reply
    prompt = (earlier.prompt_tokens, reply.prompt_tokens)
    completion = (earlier.completion_tokens, reply.completion_tokens)
    return replace(
        reply,
        prompt_tokens=None if None in prompt else sum(p or 0 for p in prompt),
        completion_tokens=None if None in completion else sum(c or 0 for c in completion),
    )


class SideBySide:
    """Runs the protocol for a judge, a template and an optional cache."""

    def __init__(
        self,
        judge: Judge,
        *,
        template: JudgeTemplate = PAPER_TEMPLATE,
        cache: JudgmentCache | None = None,
        parse_attempts: int = 3,
        concurrency: int = 64,
        flush_every: int = 256,
        flights: SingleFlight[JudgedCall] | None = None,
        prefix_order: bool = True,
        claims: JudgmentClaims | None = None,
    ) -> None:
        if parse_attempts < 1 or concurrency < 1:
            raise ValueError("parse_attempts and concurrency must be at least 1")
        self.judge = judge
        self.template = template
        self.cache = cache if judge.cacheable else None
        self.parse_attempts = parse_attempts
        self.concurrency = concurrency
        self.flush_every = flush_every
        self.prefix_order = prefix_order
        self.counts = RunCounts()
        self._known: dict[str, JudgeReply] = {}
        # identical presentations in flight (here, or in runs sharing `flights`) make one call
        self._flights = flights if flights is not None else SingleFlight()
        # ... and across processes sharing the cache's store, a call claimed there
        self.claims = claims if self.cache is not None else None
        self._unsaved: dict[str, JudgeReply] = {}
        self._arrived: dict[str, float] = {}  # when each unsaved reply came (its row's time)

    async def run(
        self, pairs: Sequence[Pair], on_result: Callable[[PairResult], None] | None = None
    ) -> list[PairResult]:
        """Judge every pair; results in input order. Errors propagate after saving.

        With `prefix_order` the calls are sent in the order of their prompts, so that prompts
        sharing a prefix (the template and instruction; the same Answer1 across pairs, as a
        baseline's response against several rows) run close together and a server's prefix
        cache serves the shared part; else pair after pair, both orders at once."""
        calls = [presentations(pair, self.template) for pair in pairs]
        keys = [(self._key(ab), self._key(ba)) for ab, ba in calls]
        if self.cache is not None:
            wanted = [key for pair_keys in keys for key in pair_keys]
            self._known.update(await off_loop(self.cache.get_many, wanted))
        results: list[PairResult | None] = [None] * len(pairs)
        judged: dict[tuple[int, int], JudgedCall] = {}

        def done(index: int, result: PairResult) -> None:
            results[index] = result
            if on_result is not None:
                on_result(result)

        for index, pair in enumerate(pairs):
            if pair.identical:
                done(index, PairResult(pair, Outcome.TIE, None, None))
        todo = [(i, side) for i, pair in enumerate(pairs) if not pair.identical for side in (0, 1)]
        if self.prefix_order:
            todo.sort(key=lambda call: calls[call[0]][call[1]].prompt)

        async def one(call: tuple[int, int]) -> None:
            index, side = call
            judged[call] = await self._judge_call(calls[index][side], keys[index][side])
            if (index, 1 - side) in judged:
                ab, ba = judged[(index, 0)], judged[(index, 1)]
                done(index, PairResult(pairs[index], outcome_of(ab.verdict, ba.verdict), ab, ba))

        try:
            await bounded_map(todo, one, 2 * self.concurrency)
        finally:
            await self._flush()
        return [result for result in results if result is not None]

    def _key(self, call: JudgeCall) -> str:
        judge = self.judge
        return judgment_key(judge.identity, self.template.hash, call, judge.uses_reference)

    async def _judge_call(self, call: JudgeCall, key: str) -> JudgedCall:
        known = self._known.get(key)
        if known is not None:
            self.counts.cache_hits += 1
            return JudgedCall(known, attempts=0, cached=True)
        judged, shared = await self._flights.run(key, lambda: self._ask(call, key))
        if shared:
            self.counts.shared += 1
            return JudgedCall(judged.reply, attempts=0, cached=True)
        return judged

    async def _ask(self, call: JudgeCall, key: str) -> JudgedCall:
        if self.claims is None:
            return await self._asked(call, key)
        theirs = await self._claim(key)
        if theirs is not None:  # another process asked and stored it meanwhile
            self.counts.shared += 1
            self._known[key] = theirs
            return JudgedCall(theirs, attempts=0, cached=True)
        holding = asyncio.create_task(self.claims.hold(key))
        try:
            judged = await self._asked(call, key)
            await self._flush()  # the reply is in the store before the claim ends
            return judged
        finally:
            holding.cancel()
            await off_loop(self.claims.release, key)

    async def _claim(self, key: str) -> JudgeReply | None:
        """Claim `key` in the store, or the reply of the process that holds it once stored;
        None when this process holds the claim and no reply is stored."""
        assert self.claims is not None
        assert self.cache is not None
        delay = 0.05
        while True:
            taken = await off_loop(self.claims.take, key)
            stored = (await off_loop(self.cache.get_many, [key])).get(key)
            if stored is not None or taken:
                if stored is not None and taken:
                    await off_loop(self.claims.release, key)
                return stored
            await asyncio.sleep(delay)
            delay = min(2 * delay, 1.0)

    async def _asked(self, call: JudgeCall, key: str) -> JudgedCall:
        attempts = 0
        paid: JudgeReply | None = None
        while True:
            attempts += 1
            reply = paid_together(paid, await self.judge.judge(replace(call, attempt=attempts)))
            paid = reply
            self.counts.judge_calls += 1
            if not asks_again(reply, attempts, self.parse_attempts, self.judge.retries_differ):
                break
            self.counts.parse_retries += 1
        self._known[key] = reply
        if self.cache is not None:
            self._unsaved[key], self._arrived[key] = reply, time.time()
            if len(self._unsaved) >= self.flush_every:
                await self._flush()
        return JudgedCall(reply, attempts=attempts, cached=False)

    async def _flush(self) -> None:
        if self.cache is None or not self._unsaved:
            return
        batch, self._unsaved = self._unsaved, {}
        arrived = {key: self._arrived[key] for key in batch if key in self._arrived}
        try:
            await off_loop(self.cache.put_many, self.judge.identity, self.template.hash, batch,
                           arrived)  # fmt: skip
        except BaseException:  # kept for the next flush
            self._unsaved = batch | self._unsaved
            raise
        for key in batch:
            self._arrived.pop(key, None)
        self.counts.stored += len(batch)
