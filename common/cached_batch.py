"""The skeleton every cached client shares (generation, multiple-choice answers, translation):
each task has a content key; what the store holds is read back, the rest is computed at most
`concurrency` at a time, and each new value is stored as it comes, in batches of `flush_every`
and always before an error or interruption propagates, so a rerun continues where a run
stopped and nothing is computed twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from common.concurrency import bounded_map

Task = TypeVar("Task")
Stored = TypeVar("Stored")
Result = TypeVar("Result")


@dataclass(slots=True)
class BatchCounts:
    """What the runs cost: results computed, read from the store, and written to it."""

    computed: int = 0
    cache_hits: int = 0
    stored: int = 0


class CachedBatch(Generic[Task, Stored, Result]):
    """Results for tasks through a store.

    - `key(task)`: the content key; `load(keys)`: the stored values among them;
    - `compute(task)`: a new result; `to_store(result)`: what to store of it (None: nothing,
      e.g. a failure that a later run should try again);
    - `from_store(task, value)`: the result a stored value stands for;
    - `save([(key, task, value), …])`: write values (None: no store at all).
    """

    def __init__(
        self,
        *,
        key: Callable[[Task], str],
        compute: Callable[[Task], Awaitable[Result]],
        to_store: Callable[[Result], Stored | None],
        from_store: Callable[[Task, Stored], Result],
        load: Callable[[list[str]], Mapping[str, Stored]] | None,
        save: Callable[[list[tuple[str, Task, Stored]]], None] | None,
        concurrency: int,
        flush_every: int = 64,
    ) -> None:
        self.key = key
        self.compute = compute
        self.to_store = to_store
        self.from_store = from_store
        self.load = load
        self.save = save
        self.concurrency = concurrency
        self.flush_every = flush_every
        self.counts = BatchCounts()
        self._unsaved: list[tuple[str, Task, Stored]] = []

    async def run(
        self, tasks: Sequence[Task], on_result: Callable[[Result], None] | None = None
    ) -> list[Result]:
        """A result for every task, in order. Errors propagate after saving."""
        keys = [self.key(task) for task in tasks]
        known = dict(self.load(keys)) if self.load is not None else {}

        async def one(index: int) -> Result:
            task, key = tasks[index], keys[index]
            if key in known:
                self.counts.cache_hits += 1
                return self.from_store(task, known[key])
            result = await self.compute(task)
            self.counts.computed += 1
            value = self.to_store(result)
            if value is not None:
                known[key] = value
                self._remember(key, task, value)
            return result

        try:
            return await bounded_map(range(len(tasks)), one, self.concurrency, on_result)
        finally:
            self._flush()

    def _remember(self, key: str, task: Task, value: Stored) -> None:
        if self.save is None:
            return
        self._unsaved.append((key, task, value))
        if len(self._unsaved) >= self.flush_every:
            self._flush()

    def _flush(self) -> None:
        if self.save is not None and self._unsaved:
            self.save(self._unsaved)
            self.counts.stored += len(self._unsaved)
            self._unsaved = []
