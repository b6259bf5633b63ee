"""A limit on calls in flight that lets waiting calls through in prompt order.

A server with a prefix cache (vLLM's automatic prefix caching) serves a shared prefix once if
prompts that share it arrive close together. One `SideBySide` sorts the calls it holds; the
service judges each item on its own, in many jobs at once, so its calls reach the judge in
the order items finish generating. The gate restores the order where it can matter: when all
`capacity` slots are busy, the calls waiting for one go through in ascending prompt order,
one sweep at a time, as an elevator serves floors. A call whose prompt sorts before the last
one let through waits for the next sweep, so a steady stream of calls cannot starve it.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class PrefixGate:
    """At most `capacity` holders at once; waiters let in by (sweep, prompt)."""

    def __init__(self, capacity: int) -> None:
        self._free = capacity
        self._waiting: list[tuple[int, str, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()
        self._sweep = 0
        self._last = ""

    @asynccontextmanager
    async def slot(self, prompt: str) -> AsyncIterator[None]:
        """Hold one slot for the body of the `async with`."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
            self._last = prompt
        else:
            sweep = self._sweep if prompt >= self._last else self._sweep + 1
            turn = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (sweep, prompt, next(self._arrivals), turn))
            try:
                await turn
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():  # handed a slot it will not use
                    self._release()
                raise
        try:
            yield
        finally:
            self._release()

    @property
    def waiting(self) -> int:
        """Calls waiting for a slot."""
        return sum(not turn.cancelled() for *_, turn in self._waiting)

    def _release(self) -> None:
        """Hand the slot to the next waiter in order, or free it."""
        while self._waiting:
            sweep, prompt, _, turn = heapq.heappop(self._waiting)
            if turn.cancelled():
                continue
            self._sweep, self._last = sweep, prompt
            turn.set_result(None)
            return
        self._free += 1
