"""The skeleton every cached client shares (generation, multiple-choice answers, translation):
each task has a content key; what the store holds is read back, the rest is computed at most
`concurrency` at a time, and each new value is stored as it comes, in batches of `flush_every`
and always before an error or interruption propagates, so a rerun continues where a run
stopped and nothing is computed twice. Store calls run off the event loop (`off_loop`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from common.concurrency import bounded_map
from common.single_flight import SingleFlight
from common.store import off_loop

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
    - `save([(key, task, value), …])`: write values (None: no store at all);
    - `read_back`: write each new value at once and use what the store then holds, for a
      store shared with other processes: the first writer of a key wins, and every result
      stands for the value stored (not for one computed here and dropped);
    - `flights`: shared by the runs of one process, a key computed by one of them at once is
      awaited by the others, not computed again (two comparisons sharing a baseline's
      response, run at the same time).
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
        read_back: bool = False,
        flights: SingleFlight[Result] | None = None,
    ) -> None:
        self.key = key
        self.compute = compute
        self.to_store = to_store
        self.from_store = from_store
        self.load = load
        self.save = save
        self.concurrency = concurrency
        self.flush_every = 1 if read_back or flights is not None else flush_every
        self.read_back = read_back and load is not None and save is not None
        self.counts = BatchCounts()
        self.flights = flights
        self._unsaved: list[tuple[str, Task, Stored]] = []

    async def run(
        self, tasks: Sequence[Task], on_result: Callable[[Result], None] | None = None
    ) -> list[Result]:
        """A result for every task, in order. Errors propagate after saving."""
        keys = [self.key(task) for task in tasks]
        known = dict(await off_loop(self.load, keys)) if self.load is not None else {}

        async def one(index: int) -> Result:
            task, key = tasks[index], keys[index]
            if key in known:
                self.counts.cache_hits += 1
                return self.from_store(task, known[key])
            if self.flights is None:
                return await fresh(task, key)
            # a run sharing `flights` computing this key now: its result is ours; one that
            # computed it since our `load` stored it before its flight ended (`fresh`)
            result, shared = await self.flights.run(key, lambda: fresh(task, key, again=True))
            if not shared:
                return result
            self.counts.cache_hits += 1
            value = self.to_store(result)
            return result if value is None else self.from_store(task, value)

        async def fresh(task: Task, key: str, again: bool = False) -> Result:
            """The task's result, computed and stored (`again`: unless the store has it now)."""
            if again and self.load is not None:
                late = (await off_loop(self.load, [key])).get(key)
                if late is not None:
                    self.counts.cache_hits += 1
                    known[key] = late
                    return self.from_store(task, late)
            result = await self.compute(task)
            self.counts.computed += 1
            value = self.to_store(result)
            if value is None:
                return result
            known[key] = value
            await self._remember(key, task, value)
            if self.read_back and self.load is not None:
                stored = (await off_loop(self.load, [key])).get(key, value)
                if stored != value:  # another process stored this key first
                    known[key] = stored
                    return self.from_store(task, stored)
            return result

        try:
            return await bounded_map(range(len(tasks)), one, self.concurrency, on_result)
        finally:
            await self._flush()

    async def _remember(self, key: str, task: Task, value: Stored) -> None:
        if self.save is None:
            return
        self._unsaved.append((key, task, value))
        if len(self._unsaved) >= self.flush_every:
            await self._flush()

    async def _flush(self) -> None:
        if self.save is None or not self._unsaved:
            return
        batch, self._unsaved = self._unsaved, []
        try:
            await off_loop(self.save, batch)
        except BaseException:  # kept for the next flush (a rerun of the write stores it once)
            self._unsaved = batch + self._unsaved
            raise
        self.counts.stored += len(batch)
