"""The throughput a store has recorded, for a plan's time estimate: responses a second, and
judge replies (and their prompt tokens: a judge call's time follows its prompt's length) a
second, over the most recent run that wrote them (the newest rows, back to the first gap of
more than `GAP_S` between two), measured from the rows' `created_at` (a reply's arrival)."""

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
    tokens: int | None = None  # the rows' prompt tokens, where every row has them

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
        column = "prompt_tokens" if table == "judgments" else "null"
        rows = list(connection.execute(
            f"select created_at, {column} from {table} where created_at is not null "
            "order by created_at desc limit ?", [NEWEST]))  # fmt: skip
    except sqlite3.OperationalError:  # no such table yet
        return None
    finally:
        connection.close()
    run = rows[:1]
    for newer, older in itertools.pairwise(rows):
        if newer[0] - older[0] > GAP_S:
            break
        run.append(older)
    seconds = run[0][0] - run[-1][0] if run else 0.0
    if len(run) < MIN_ROWS or seconds <= 0:
        return None
    counts = [row[1] for row in run[:-1]]  # the oldest row starts the clock
    tokens = sum(counts) if None not in counts else None
    return Rate(len(run) - 1, seconds, tokens)


def recorded_rates(store: Path, notes: list[str]) -> Rates:
    """The store's recorded rates of responses and judge replies, each said in `notes`."""
    found = {table: recorded_rate(store, table) for table in ("generations", "judgments")}
    for table, rate in found.items():
        if rate is not None:
            tokens = (
                ""
                if rate.tokens is None
                else f", {rate.tokens / rate.seconds:,.0f} prompt tokens/s"
            )
            notes.append(f"time: {table} at {rate.per_second:.1f}/s{tokens}, this store's last "
                         f"run of them ({rate.rows} in {rate.seconds:.0f} s)")  # fmt: skip
    judged = found["judgments"]
    return Rates(
        generations=None if found["generations"] is None else found["generations"].per_second,
        judgments=None if judged is None else judged.per_second,
        judge_prompt_tokens=None if judged is None or judged.tokens is None
        else judged.tokens / judged.seconds,
    )  # fmt: skip
