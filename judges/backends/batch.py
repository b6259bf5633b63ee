"""Judge through an OpenAI-compatible Batch API, at batch prices: the provider-neutral batcher
(gathering, the ledger, dispatch, futures, retries); the wire format is `openai_batch_api.py`.

Each judge call is the body the `openai` backend would send (`judge_request`), keyed by its
content (`custom_id`). Calls are gathered until none has come for `collect_s` (or `batch_size`
wait), uploaded as one JSONL file and made a batch, polled every `poll_s` until it ends; its
output and error files are read back.

- Nothing is paid twice. The intent to create a batch is written to the ledger
  (`judges.batch_ledger`) before the create, and its id goes into the batch's metadata; the
  batch id replaces it before the run waits. A run started again polls the same batch, reads
  a finished batch's files again, or finds an intent's batch at the provider. A create that
  got no answer is never repeated blindly: the batch is looked for by its intent first.
- The judge identity is the `openai` backend's: replies share the judgment cache, and a call
  answered through a batch is never asked online, nor the other way round.
- A row that comes back with an error, or not at all (an expired or cancelled batch), goes
  into a later batch, `batch_tries` batches in all, counted in the ledger (a restart grants
  none); then it is an invalid reply whose raw text says why, never a verdict.
- A batch failed as a whole (validation) fails its calls with `JudgeRequestRejectedError`
  naming the provider's errors; a server without the Batch API (404) says so before anything
  is sent. A row for a request the batch never had is ignored and counted (`unknown_rows`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import httpx

from common.completions import completion_path
from common.openai_http import OpenAIHttp
from common.store import content_key, off_loop
from common.urls import shown
from judges.backends.base import JudgeCall, JudgeReply
from judges.backends.batch_config import BatchJudgeConfig
from judges.backends.openai import ApiKind, JudgeMode, judge_identity, judge_request, reply_of
from judges.backends.openai_batch_api import (
    INTENT_TAG,
    READABLE,
    WAITING,
    BatchApi,
    BatchProgress,
    CreateUncertainError,
    answer_of,
    row_error,
)
from judges.batch_ledger import CREATING, BatchLedger, LedgerBatch
from judges.errors import JudgeRequestRejectedError, JudgeUnavailableError

log = logging.getLogger(__name__)


class BatchJudge:
    """A judge model answering through a provider's Batch API."""

    cacheable = True
    uses_reference = False

    def __init__(
        self,
        config: BatchJudgeConfig,
        ledger: BatchLedger,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.ledger = ledger
        self.identity = judge_identity(config)
        self.retries_differ = config.mode is JudgeMode.GENERATE
        self.base_url = config.base_urls[0]
        self.path = httpx.URL(self.base_url).path.rstrip("/") + completion_path(
            config.api is ApiKind.CHAT
        )
        self.unknown_rows = 0  # rows in an output file for requests their batch never had
        self._api = BatchApi(self.base_url, OpenAIHttp(config.client(transport)))
        self._reset()

    def _reset(self) -> None:
        self._pending: dict[str, dict[str, Any]] = {}  # custom_id → body, not yet in a batch
        self._futures: dict[str, asyncio.Future[JudgeReply]] = {}
        self._read: dict[str, str] = {}  # custom_id → the batch read in this run without a reply
        self._pollers: dict[str, dict[str, dict[str, Any]]] = {}  # batch id → its rows here
        self._tasks: set[asyncio.Task[None]] = set()
        self._dispatcher: asyncio.Task[None] | None = None
        self._last_arrival = 0.0
        self.in_flight: dict[str, BatchProgress] = {}

    async def judge(self, call: JudgeCall) -> JudgeReply:
        """Wait for the call's reply from a batch (shared by identical calls)."""
        body = judge_request(self.config, call.prompt, call.attempt)
        custom_id = content_key(self.identity, self.path, body)
        future = self._futures.get(custom_id)
        if future is None:
            future = self._futures[custom_id] = asyncio.get_running_loop().create_future()
            self._queue(custom_id, body)
        return await asyncio.shield(future)

    def waiting(self) -> list[str]:
        """What the judge is waiting on: one line per batch in flight."""
        return [str(progress) for progress in self.in_flight.values()]

    async def probe(self) -> str:
        """`ok` when the server lists its batches (it offers the Batch API), else the error."""
        return await self._api.probe()

    async def aclose(self) -> None:
        """Stop polling (the batches go on at the provider; a later run resumes them)."""
        for task in [*self._tasks, *([self._dispatcher] if self._dispatcher else [])]:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for future in self._futures.values():
            if not future.done():
                future.cancel()
        await self._api.aclose()
        self._reset()

    # gathering calls into batches

    def _queue(self, custom_id: str, body: dict[str, Any]) -> None:
        self._pending[custom_id] = body
        loop = asyncio.get_running_loop()
        self._last_arrival = loop.time()
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = loop.create_task(self._dispatch())

    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            quiet = loop.time() - self._last_arrival
            if len(self._pending) < self.config.batch_size and quiet < self.config.collect_s:
                await asyncio.sleep(self.config.collect_s - quiet)
                continue
            taken = dict(list(self._pending.items())[: self.config.batch_size])
            for custom_id in taken:
                del self._pending[custom_id]
            try:
                await self._send(taken)
            except Exception as error:  # every call of the batch learns why
                self._fail(taken, error)

    async def _send(self, rows: dict[str, dict[str, Any]]) -> None:
        """Attach each request to the batch it is already in, if any; batch the others."""
        known = await off_loop(self.ledger.batches_of, rows, self.base_url)
        intents: dict[str, LedgerBatch | None] = {}
        new: dict[str, dict[str, Any]] = {}
        for custom_id, body in rows.items():
            last = known.get(custom_id, [None])[-1]
            if last is not None and last.status == CREATING:
                if last.id not in intents:
                    intents[last.id] = await self._settle(last.id)
                last = intents[last.id]
            if (
                last is not None
                and last.status in WAITING | READABLE
                and self._read.get(custom_id) != last.id  # not already read in this run
            ):
                self._watch(last, {custom_id: body})
            else:
                new[custom_id] = body
        if new:
            self._watch(await self._create(new), new)

    async def _settle(self, intent: str) -> LedgerBatch | None:
        """The batch an intent left behind was made for, recorded; None (the intent dropped)
        when the provider has none."""
        batch = await self._api.find(intent)
        if batch is None:
            await off_loop(self.ledger.drop, intent)
            return None
        await off_loop(self.ledger.record, batch, intent)
        log.info("judge batch %s found again at %s for intent %s", batch.id, self._shown, intent)
        return batch

    async def _create(self, rows: dict[str, dict[str, Any]]) -> LedgerBatch:
        """A new batch of `rows`, its intent written first; a create that got no answer is
        looked for before it is sent again (`max_attempts` creates in all)."""
        intent = f"sxs-{uuid.uuid4().hex}"
        await off_loop(self.ledger.intend, intent, self.base_url, self.identity, list(rows))
        file_id = await self._api.upload(rows, self.path)
        metadata = {"sxs_judge": self.identity, INTENT_TAG: intent}
        window, retry = self.config.completion_window, self.config.client().retry
        try:
            batch = await self._api.create(file_id, self.path, window, metadata, retry)
        except CreateUncertainError as error:  # the intent stays: a later run looks again
            raise JudgeUnavailableError(
                f"judge batch API {self._shown}: no answer to {self.config.max_attempts} "
                f"batch creates ({error}), and no batch made for them found yet"
            ) from None
        except JudgeRequestRejectedError:
            await off_loop(self.ledger.drop, intent)
            raise
        await off_loop(self.ledger.record, batch, intent)
        log.info("judge batch %s created with %d requests", batch.id, len(rows))
        return batch

    # waiting for batches

    def _watch(self, batch: LedgerBatch, rows: dict[str, dict[str, Any]]) -> None:
        watched = self._pollers.get(batch.id)
        if watched is not None:
            watched.update(rows)
            return
        self._pollers[batch.id] = dict(rows)
        task = asyncio.get_running_loop().create_task(self._poll(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _poll(self, batch: LedgerBatch) -> None:
        errors = ""
        rows: dict[str, dict[str, Any]] = {}
        try:
            while batch.status in WAITING:
                polled, progress, errors = await self._api.retrieve(batch.id)
                self.in_flight[batch.id] = progress
                if polled != batch:
                    await off_loop(self.ledger.update, polled)
                batch = polled
                if batch.status in WAITING:
                    await asyncio.sleep(self.config.poll_s)
            rows = self._pollers.pop(batch.id)
            self.in_flight.pop(batch.id, None)
            if batch.status not in READABLE:  # failed as a whole: asking again cannot help
                raise JudgeRequestRejectedError(
                    f"judge batch {batch.id} at {self._shown} {batch.status}: {errors}"
                )
            await self._collect(batch, rows)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self.in_flight.pop(batch.id, None)
            self._fail(rows or self._pollers.pop(batch.id, {}), error)

    async def _collect(self, batch: LedgerBatch, rows: dict[str, dict[str, Any]]) -> None:
        """Resolve the calls a finished batch answered; send the others to a later batch."""
        outputs = await self._api.rows(batch.output_file_id)
        errors = await self._api.rows(batch.error_file_id)
        tried = await off_loop(self.ledger.batches_of, [*outputs, *errors, *rows], self.base_url)
        unknown = [cid for cid in {**outputs, **errors}
                   if batch.id not in {b.id for b in tried.get(cid, [])}]  # fmt: skip
        if unknown:
            self.unknown_rows += len(unknown)
            log.warning("judge batch %s returned %d rows for requests it never had (e.g. %s): "
                        "ignored", batch.id, len(unknown), unknown[0])  # fmt: skip
        for custom_id, body in rows.items():
            row = outputs.get(custom_id)
            answer = answer_of(row)
            if answer is not None:
                try:
                    reply = reply_of(answer, self.config.mode, self.config.api is ApiKind.CHAT)
                except (KeyError, IndexError, TypeError, ValueError) as error:
                    reason = f"a malformed reply ({error})"
                else:
                    self._resolve(custom_id, reply)
                    continue
            else:
                reason = row_error(errors.get(custom_id) or row, batch)
            self._read[custom_id] = batch.id
            self._again(custom_id, body, reason, len(tried.get(custom_id, [])))

    def _again(self, custom_id: str, body: dict[str, Any], reason: str, tries: int) -> None:
        if tries < self.config.batch_tries:
            log.info("judge request %s: %s; it goes into a later batch", custom_id[:12], reason)
            self._queue(custom_id, body)
            return
        failed = f"no reply from {tries} judge batches: {reason}"
        self._resolve(custom_id, JudgeReply(raw=f"[{failed}]", verdict=None, failed=failed))

    @property
    def _shown(self) -> str:
        return shown(self.base_url)

    # results

    def _resolve(self, custom_id: str, reply: JudgeReply) -> None:
        future = self._futures.pop(custom_id, None)
        if future is not None and not future.done():
            future.set_result(reply)

    def _fail(self, rows: dict[str, Any], error: Exception) -> None:
        for custom_id in rows:
            future = self._futures.pop(custom_id, None)
            if future is not None and not future.done():
                future.set_exception(error)
                future.add_done_callback(_retrieved)


def _retrieved(future: asyncio.Future[Any]) -> None:
    """Mark a failed future's exception as seen (its caller may be gone)."""
    if not future.cancelled():
        future.exception()
