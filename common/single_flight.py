"""Concurrent calls for the same key share one computation (the first one runs, the others
await its result or its error); a leader that is cancelled hands the work to a waiter."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class SingleFlight(Generic[Value]):
    """At most one computation in flight per key."""

    def __init__(self) -> None:
        self._pending: dict[Hashable, asyncio.Future[Value]] = {}

    async def run(
        self, key: Hashable, compute: Callable[[], Awaitable[Value]]
    ) -> tuple[Value, bool]:
        """`compute()`'s value, or the value of the same key's computation in flight; with
        whether it was shared."""
        while (pending := self._pending.get(key)) is not None:
            try:
                return await asyncio.shield(pending), True
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this caller was cancelled
                # the leader was cancelled: compute here
        future: asyncio.Future[Value] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            value = await compute()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no warning when nobody was waiting
            raise
        else:
            future.set_result(value)
            return value, False
        finally:
            del self._pending[key]
