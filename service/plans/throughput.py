"""The throughput a store has recorded, for a plan's time estimate: responses and judge
replies a second over the most recent run that wrote them (the newest rows, back to the first
gap of more than `GAP_S` between two writes), measured from the rows' `created_at`."""

from __future__ import annotations

import itertools
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from service.plans.model import Rates

GAP_S = 120.0  # a longer pause between two writes ends a run
NEWEST = 2000  # rows read at most
MIN_ROWS = 5  # fewer tell nothing of a rate


@dataclass(frozen=True, slots=True)
class Rate:
    """`rows` written over `seconds` in the store's most recent run of them."""

    rows: int
    seconds: float

    @property
    def per_second(self) -> float:
        """Rows a second."""
        return self.rows / self.seconds


def recorded_rate(store: Path, table: str) -> Rate | None:
    """The rate of the newest run of writes to `table` (generations or judgments) in `store`;
    None when the store has too few rows, or none spread over time."""
    if not store.is_file():
        return None
    connection = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        times = [row[0] for row in connection.execute(
            f"select created_at from {table} where created_at is not null "
            "order by created_at desc limit ?", [NEWEST])]  # fmt: skip
    except sqlite3.OperationalError:  # no such table yet
        return None
    finally:
        connection.close()
    run = times[:1]
    for newer, older in itertools.pairwise(times):
        if newer - older > GAP_S:
            break
        run.append(older)
    if len(run) < MIN_ROWS or run[0] - run[-1] <= 0:
        return None
    return Rate(len(run) - 1, run[0] - run[-1])


def recorded_rates(store: Path, notes: list[str]) -> Rates:
    """The store's recorded rates of responses and judge replies, each said in `notes`."""
    found = {table: recorded_rate(store, table) for table in ("generations", "judgments")}
    for table, rate in found.items():
        if rate is not None:
            notes.append(f"time: {table} at {rate.per_second:.1f}/s, this store's last run of "
                         f"them ({rate.rows} in {rate.seconds:.0f} s)")  # fmt: skip
    return Rates(
        generations=None if found["generations"] is None else found["generations"].per_second,
        judgments=None if found["judgments"] is None else found["judgments"].per_second,
    )
