"""Runs of one process sharing `flights` compute a key once: at the same time (one awaits the
other), or one after the other's load but before its computation (the store has it by then)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from common.cached_batch import CachedBatch
from common.single_flight import SingleFlight


class Store:
    """A dict as the store, counting computations per key."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.computed: dict[str, int] = {}

    def load(self, keys: list[str]) -> Mapping[str, str]:
        return {key: self.values[key] for key in keys if key in self.values}

    def save(self, rows: list[tuple[str, str, str]]) -> None:
        for key, _, value in rows:
            self.values.setdefault(key, value)


def batch(
    store: Store, flights: SingleFlight[str] | None, delay_s: float
) -> CachedBatch[str, str, str]:
    async def compute(task: str) -> str:
        store.computed[task] = store.computed.get(task, 0) + 1
        await asyncio.sleep(delay_s)
        return task.upper()

    return CachedBatch(
        key=lambda task: task,
        compute=compute,
        to_store=lambda result: result,
        from_store=lambda task, value: value,
        load=store.load,
        save=store.save,
        concurrency=4,
        read_back=True,
        flights=flights,
    )


def test_runs_at_once_share_a_computation() -> None:
    async def scenario(flights: SingleFlight[str] | None) -> dict[str, int]:
        store = Store()
        first, second = batch(store, flights, 0.05), batch(store, flights, 0.05)
        results = await asyncio.gather(first.run(["a", "b"]), second.run(["b", "c"]))
        assert list(results) == [["A", "B"], ["B", "C"]]
        return store.computed

    assert asyncio.run(scenario(SingleFlight())) == {"a": 1, "b": 1, "c": 1}
    assert asyncio.run(scenario(None))["b"] == 2  # without flights, both compute it


def test_a_key_stored_since_the_runs_load_is_not_computed_again() -> None:
    """The race the flights alone leave open: this run loaded before another stored the key,
    and that run's flight has ended; the store is read again before computing."""
    store, flights = Store(), SingleFlight[str]()
    asyncio.run(batch(store, flights, 0.0).run(["x"]))
    late, loads = batch(store, flights, 0.0), [0]

    def stale_first_load(keys: list[str]) -> Mapping[str, str]:
        loads[0] += 1
        return {} if loads[0] == 1 else store.load(keys)

    late.load = stale_first_load
    assert asyncio.run(late.run(["x"])) == ["X"]
    assert store.computed == {"x": 1} and late.counts.cache_hits == 1
