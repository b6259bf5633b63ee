"""The rates a plan's time estimate reads: the store's newest run of writes, back to the first
long pause, read through the created_at index."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from judges.backends.base import JudgeReply
from judges.cache import JudgmentCache
from judges.verdicts import Verdict
from service.plans.throughput import GAP_S, recorded_rate


def test_the_newest_run_of_replies_gives_the_rate(tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    cache = JudgmentCache(store)
    reply = JudgeReply(raw="1", verdict=Verdict.FIRST, prompt_tokens=100, completion_tokens=1)
    old = {f"old{i}": 1000.0 + i for i in range(10)}  # an earlier run, one reply a second
    new = {f"new{i}": 2000.0 + GAP_S + 0.5 * i for i in range(11)}  # two a second, 5 s
    times = old | new
    cache.put_many("judge", "template", dict.fromkeys(times, reply), arrived=times)

    rate = recorded_rate(store, "judgments")

    assert rate is not None
    assert (rate.rows, rate.seconds, rate.tokens) == (10, 5.0, 1000)
    assert rate.per_second == 2.0
    connection = sqlite3.connect(store)
    plan = " ".join(
        str(row[-1])
        for row in connection.execute(
            "explain query plan select created_at from judgments where created_at is not null "
            "order by created_at desc limit 10"
        )
    )
    connection.close()
    assert "idx_judgments_created_at" in plan, plan


def test_too_few_rows_or_no_store_give_no_rate(tmp_path: Path) -> None:
    assert recorded_rate(tmp_path / "absent.db", "judgments") is None
    cache = JudgmentCache(tmp_path / "store.db")
    reply = JudgeReply(raw="1", verdict=Verdict.FIRST)
    cache.put_many("judge", "template", {"a": reply, "b": reply}, arrived={"a": 1.0, "b": 2.0})
    assert recorded_rate(tmp_path / "store.db", "judgments") is None
