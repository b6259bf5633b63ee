"""The prefix gate: at most `capacity` holders; waiting calls go through in prompt order, one
ascending sweep at a time; a cancelled waiter leaks no slot."""

from __future__ import annotations

import asyncio

import pytest

from judges.prefix_gate import PrefixGate


async def admitted(gate: PrefixGate, holder: str, arrivals: list[str]) -> list[str]:
    """The order in which `arrivals` (each waiting while `holder` holds the only slot) get it."""
    order: list[str] = []
    release = asyncio.Event()

    async def hold() -> None:
        async with gate.slot(holder):
            await release.wait()

    async def one(prompt: str) -> None:
        async with gate.slot(prompt):
            order.append(prompt)
            await asyncio.sleep(0)

    holding = asyncio.create_task(hold())
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(one(prompt)) for prompt in arrivals]
    await asyncio.sleep(0)
    assert gate.waiting == len(arrivals)
    release.set()
    await asyncio.gather(holding, *waiting)
    return order


def test_waiting_calls_go_through_in_prompt_order_one_sweep_at_a_time() -> None:
    gate = PrefixGate(1)
    # after "m": those at or after it in this sweep, ascending, then the rest in the next
    order = asyncio.run(admitted(gate, "m", ["b", "z", "a", "n", "m2", "c"]))
    assert order == ["m2", "n", "z", "a", "b", "c"]


def test_a_call_that_sorts_before_the_last_waits_for_the_next_sweep() -> None:
    async def go() -> list[str]:
        gate, order = PrefixGate(1), []
        late: list[asyncio.Task[None]] = []
        release = asyncio.Event()

        async def one(prompt: str) -> None:
            async with gate.slot(prompt):
                order.append(prompt)
                if prompt == "a":
                    await release.wait()
                if prompt == "c":  # while "c" holds the slot: "b" arrives behind it, "d" ahead
                    late.extend(asyncio.create_task(one(p)) for p in ("b", "d"))
                    await asyncio.sleep(0)

        first = asyncio.create_task(one("a"))
        await asyncio.sleep(0)
        queued = [asyncio.create_task(one(p)) for p in ("e", "c")]
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(first, *queued)
        await asyncio.gather(*late)
        return order

    assert asyncio.run(go()) == ["a", "c", "d", "e", "b"]


@pytest.mark.parametrize("capacity", [1, 3])
def test_never_more_holders_than_capacity(capacity: int) -> None:
    async def go() -> int:
        gate, holding, most = PrefixGate(capacity), 0, 0

        async def one(prompt: str) -> None:
            nonlocal holding, most
            async with gate.slot(prompt):
                holding += 1
                most = max(most, holding)
                await asyncio.sleep(0.001)
                holding -= 1

        await asyncio.gather(*(one(f"p{i % 7}") for i in range(40)))
        return most

    assert asyncio.run(go()) == capacity


def test_a_cancelled_waiter_leaks_no_slot() -> None:
    async def go() -> list[str]:
        gate, order = PrefixGate(1), []
        release = asyncio.Event()

        async def one(prompt: str, wait: bool = False) -> None:
            async with gate.slot(prompt):
                order.append(prompt)
                if wait:
                    await release.wait()

        holder = asyncio.create_task(one("a", wait=True))
        await asyncio.sleep(0)
        cancelled, kept = asyncio.create_task(one("b")), asyncio.create_task(one("c"))
        await asyncio.sleep(0)
        cancelled.cancel()
        release.set()
        await asyncio.gather(holder, kept)
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        async with asyncio.timeout(1):  # the slot is free again
            await one("d")
        return order

    assert asyncio.run(go()) == ["a", "c", "d"]
