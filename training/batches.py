"""Micro-batches for training on a CPU: similar lengths together (little padding), every
example once per epoch, a group (a judge prompt in both orders) kept in one micro-batch."""

from __future__ import annotations

import random
from collections.abc import Iterator


def micro_batches(
    lengths: list[int],
    size: int,
    seed: int,
    by_length: bool = True,
    groups: list[str] | None = None,
) -> Iterator[list[int]]:
    """Endless micro-batches of example indices, each example once per epoch. By length: each
    epoch is shuffled, cut into pools of 32 micro-batches, each pool sorted by length and cut
    into micro-batches, which are shuffled again (little padding, order still random).
    Examples sharing a group (e.g. a judge prompt in both orders) stay next to each other, so
    a group that fits is drawn into one micro-batch."""
    rng = random.Random(seed)
    units: dict[str, list[int]] = {}
    for index in range(len(lengths)):
        units.setdefault(groups[index] if groups else str(index), []).append(index)
    unit_list = list(units.values())
    while True:
        order = unit_list[:]
        rng.shuffle(order)
        if by_length:
            order = [
                unit
                for pool in _pools(order, 32 * size)
                for unit in sorted(pool, key=lambda u: max(lengths[i] for i in u))
            ]
        flat = [index for unit in order for index in unit]
        while len(flat) < size:  # fewer examples than a micro-batch: repeat them
            flat += flat[: size - len(flat)]
        batches = [flat[i : i + size] for i in range(0, len(flat), size)]
        rng.shuffle(batches)
        yield from (batch for batch in batches if len(batch) == size)


def _pools(units: list[list[int]], capacity: int) -> Iterator[list[list[int]]]:
    """Consecutive runs of `units` holding about `capacity` examples each."""
    pool: list[list[int]] = []
    taken = 0
    for unit in units:
        pool.append(unit)
        taken += len(unit)
        if taken >= capacity:
            yield pool
            pool, taken = [], 0
    if pool:
        yield pool
