"""Bounded concurrency over many items, results in input order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


async def bounded_map(
    items: Sequence[T],
    work: Callable[[T], Awaitable[R]],
    concurrency: int,
    on_result: Callable[[R], None] | None = None,
) -> list[R]:
    """`work` on every item, at most `concurrency` at a time; the first error cancels the rest
    and propagates. `on_result` sees each result as it completes."""
    results: list[R | None] = [None] * len(items)
    indices = iter(range(len(items)))

    async def worker() -> None:
        for index in indices:
            result = await work(items[index])
            results[index] = result
            if on_result is not None:
                on_result(result)

    tasks = [asyncio.create_task(worker()) for _ in range(min(concurrency, len(items)))]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return [result for result in results if result is not None]
