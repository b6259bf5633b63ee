"""The batch judge against a fake provider speaking the Batch API (`tests.batch_server`): 200
pairs through batches, a run killed while its batch is in progress resumes by polling the
same batch, failed and expired rows go into later batches and end invalid (never a verdict),
and a server without batches, a batch that fails validation or an output row nobody asked for
are clear errors or ignored."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from judges.backends.batch import BatchJudge
from judges.backends.batch_config import BatchJudgeConfig
from judges.batch_ledger import BatchLedger
from judges.cache import JudgmentCache, judgment_key
from judges.errors import JudgeRequestRejectedError
from judges.pairs import Pair
from judges.prompts import PAPER_TEMPLATE
from judges.sxs import PairResult, SideBySide, presentations
from judges.verdicts import Outcome
from tests.batch_server import FakeBatchServer

URL = "http://batch.test/v1"


def pairs(count: int) -> list[Pair]:
    """Pairs whose longer answer is A's for even i, B's for odd i."""
    return [
        Pair(id=str(i), instruction=f"Say something about {i}.",
             response_a="a" * (15 if i % 2 == 0 else 10), response_b="b" * 12)
        for i in range(count)
    ]  # fmt: skip


def expected(pair: Pair) -> Outcome:
    """The fake provider's judge prefers the longer answer (independently of the code)."""
    return Outcome.WIN if len(pair.response_a) > len(pair.response_b) else Outcome.LOSS


def judge(server: FakeBatchServer, store: Path, **overrides: object) -> BatchJudge:
    settings = {
        "base_url": URL,
        "model": "judge",
        "batch_size": 1000,
        "collect_s": 0.05,
        "poll_s": 0.01,
        "max_attempts": 2,
        "backoff_initial_s": 0,
        "backoff_max_s": 0,
    }
    config = BatchJudgeConfig.model_validate(settings | overrides)  # fmt: skip
    return BatchJudge(config, BatchLedger(store), transport=server)


def run(batch_judge: BatchJudge, store: Path, items: list[Pair]) -> list[PairResult]:
    async def go() -> list[PairResult]:
        sxs = SideBySide(batch_judge, cache=JudgmentCache(store), concurrency=len(items))
        try:
            return await sxs.run(items)
        finally:
            await batch_judge.aclose()

    return asyncio.run(go())


def test_two_hundred_pairs_are_judged_through_batches(tmp_path: Path) -> None:
    store, server, items = tmp_path / "sxs.db", FakeBatchServer(), pairs(200)
    results = run(judge(server, store, batch_size=150), store, items)
    assert [r.outcome for r in results] == [expected(p) for p in items]
    assert [len(rows) for rows in server.inputs.values()] == [150, 150, 100]
    assert server.answered == 400 and BatchLedger(store).count() == 3
    prompt = sum(c.reply.prompt_tokens or 0 for r in results for c in r.calls)
    assert prompt == server.tokens["prompt"]  # the provider's usage, kept per reply

    again = run(judge(server, store), store, items)  # all in the judgment cache now
    assert [r.outcome for r in again] == [r.outcome for r in results]
    assert len(server.batches) == 3 and server.answered == 400


def test_a_run_killed_while_its_batch_runs_resumes_by_polling_the_same_batch(
    tmp_path: Path,
) -> None:
    store, server, items = tmp_path / "sxs.db", FakeBatchServer(), pairs(200)
    server.hold = True

    async def killed() -> None:
        first = judge(server, store)
        sxs = SideBySide(first, cache=JudgmentCache(store), concurrency=len(items))
        task = asyncio.create_task(sxs.run(items))
        for _ in range(500):  # a deadline: 5 s
            if any(b["status"] == "in_progress" for b in server.batches.values()):
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await first.aclose()

    asyncio.run(killed())
    assert len(server.batches) == 1 and server.answered == 0
    (batch_id,) = server.batches

    server.hold = False
    results = run(judge(server, store), store, items)
    assert list(server.batches) == [batch_id]  # polled again, no new batch for the same calls
    assert [r.outcome for r in results] == [expected(p) for p in items]
    assert server.answered == 400 and BatchLedger(store).count() == 1


def test_failed_rows_go_into_later_batches_then_are_invalid(tmp_path: Path) -> None:
    store, server, items = tmp_path / "sxs.db", FakeBatchServer(), pairs(4)
    first_ids: list[str] = []

    def failing(custom_id: str, tries: int) -> str | None:
        # every request of the first batch's first row fails always; its second row once
        if not first_ids:
            first_ids.extend(row["custom_id"] for row in next(iter(server.inputs.values())))
        if custom_id == first_ids[0]:
            return "server_error"
        return "rate_limited" if custom_id == first_ids[1] and tries == 1 else None

    server.failing = failing
    results = run(judge(server, store, batch_tries=3), store, items)
    calls = {call.reply.raw: call for r in results for call in r.calls}
    failed = [raw for raw in calls if raw.startswith("[no reply")]
    assert failed == ["[no reply from 3 judge batches: server_error: request failed: server_error]"]
    assert sum(r.outcome is Outcome.INVALID for r in results) == 1
    assert server.tries[first_ids[0]] == 3 and server.tries[first_ids[1]] == 2
    assert len(server.batches) == 3
    valid = [r for r in results if r.outcome is not Outcome.INVALID]
    assert [r.outcome for r in valid] == [expected(r.pair) for r in valid]
    stored = JudgmentCache(store)
    assert stored.count() == 8  # the invalid reply is kept, raw text and all ...
    identity = judge(server, store).identity
    keys = [judgment_key(identity, PAPER_TEMPLATE.hash, call, uses_reference=False)
            for r in results for call in presentations(r.pair, PAPER_TEMPLATE)]  # fmt: skip
    assert len(stored.get_many(keys)) == 7  # ... but never served as a verdict


def test_an_expired_batch_sends_its_unfinished_rows_to_a_new_batch(tmp_path: Path) -> None:
    store, server, items = tmp_path / "sxs.db", FakeBatchServer(), pairs(10)
    server.expire = 1
    results = run(judge(server, store), store, items)
    statuses = [batch["status"] for batch in server.batches.values()]
    assert statuses == ["expired", "completed"]
    assert [len(rows) for rows in server.inputs.values()] == [20, 10]
    assert [r.outcome for r in results] == [expected(p) for p in items]


def test_a_server_without_the_batch_api_is_a_clear_error(tmp_path: Path) -> None:
    store, server = tmp_path / "sxs.db", FakeBatchServer(batches=False)
    with pytest.raises(JudgeRequestRejectedError, match="does not offer the Batch API"):
        run(judge(server, store), store, pairs(3))
    assert JudgmentCache(store).count() == 0
    assert asyncio.run(judge(server, store).probe()).startswith("error: ")
    assert asyncio.run(judge(FakeBatchServer(), store).probe()) == "ok"


def test_a_batch_that_fails_validation_fails_its_calls_with_the_reason(tmp_path: Path) -> None:
    store, server = tmp_path / "sxs.db", FakeBatchServer()
    server.invalid_next = True
    with pytest.raises(JudgeRequestRejectedError, match="not available for batches"):
        run(judge(server, store), store, pairs(3))
    assert JudgmentCache(store).count() == 0


def test_an_output_row_for_an_unknown_request_is_ignored_and_counted(tmp_path: Path) -> None:
    store, server, items = tmp_path / "sxs.db", FakeBatchServer(), pairs(5)
    server.unknown_row = True
    batch_judge = judge(server, store)
    results = run(batch_judge, store, items)
    assert [r.outcome for r in results] == [expected(p) for p in items]
    assert batch_judge.unknown_rows == 1
    assert JudgmentCache(store).count() == 10


class KilledError(Exception):
    """The process dies here (the ledger write after a batch was created never happens)."""


def test_a_kill_between_creating_a_batch_and_the_ledger_write_pays_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, server, items = tmp_path / "sxs.db", FakeBatchServer(), pairs(6)
    record = BatchLedger.record

    def dies(*args: object, **kwargs: object) -> None:
        monkeypatch.setattr(BatchLedger, "record", record)
        raise KilledError

    monkeypatch.setattr(BatchLedger, "record", dies)
    with pytest.raises(KilledError):
        run(judge(server, store), store, items)
    assert len(server.batches) == 1 and server.answered == 0

    results = run(judge(server, store), store, items)
    assert len(server.batches) == 1  # found again at the provider, not created again
    assert [r.outcome for r in results] == [expected(p) for p in items]
    assert server.answered == 12 and BatchLedger(store).count() == 1


def test_an_ambiguous_create_is_resolved_by_finding_the_batch_not_by_creating_another(
    tmp_path: Path,
) -> None:
    store, server, items = tmp_path / "sxs.db", FakeBatchServer(), pairs(6)
    server.lost_creates = 1  # created, but the answer never came back
    results = run(judge(server, store, max_attempts=3), store, items)
    assert len(server.batches) == 1 and server.answered == 12
    assert [r.outcome for r in results] == [expected(p) for p in items]
    assert BatchLedger(store).count() == 1


def test_batch_tries_are_kept_in_the_ledger_across_runs(tmp_path: Path) -> None:
    store, server, items = tmp_path / "sxs.db", FakeBatchServer(), pairs(1)
    server.failing = lambda custom_id, tries: "server_error"
    first = run(judge(server, store, batch_tries=2), store, items)
    assert first[0].outcome is Outcome.INVALID and len(server.batches) == 2

    again = run(judge(server, store, batch_tries=2), store, items)
    assert again[0].outcome is Outcome.INVALID
    assert len(server.batches) == 2  # the budget is spent: a rerun creates no batch
    assert "no reply from 2 judge batches" in again[0].calls[0].reply.raw


def test_a_failed_row_without_an_error_object_keeps_the_reason_in_its_body(
    tmp_path: Path,
) -> None:
    store, server, items = tmp_path / "sxs.db", FakeBatchServer(), pairs(1)
    server.failing, server.errors_in_body = (lambda custom_id, tries: "context_too_long"), True
    results = run(judge(server, store, batch_tries=1), store, items)
    raw = results[0].calls[0].reply.raw
    assert raw == "[no reply from 1 judge batches: HTTP 400: request failed: context_too_long]"
