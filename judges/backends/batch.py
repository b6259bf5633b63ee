"""Judge through an OpenAI-compatible Batch API (`/v1/files` + `/v1/batches`), at batch prices.

Each judge call is the request body the `openai` backend would send (`judge_request`), keyed
by its content (`custom_id`). Calls are gathered until none has come for `collect_s` (or
`batch_size` are waiting), written as one JSONL file, uploaded, and made a batch; the batch
is polled every `poll_s` until it ends, and its output and error files are read back.

- The batch id and its requests are written to the ledger (`judges.batch_ledger`) before the
  run waits: a run interrupted and started again polls the same batch for the same calls
  (no new batch, nothing paid twice), or reads a finished batch's files again.
- The judge identity is the `openai` backend's: replies land in the same judgment cache, and
  a call answered through a batch is never asked online, nor the other way round.
- A row that comes back with an error, or not at all (an expired or cancelled batch), goes
  into a later batch, `batch_tries` batches in all; then it is recorded as an invalid reply
  whose raw text says why, never as a verdict (a later run asks again).
- A batch that fails as a whole (validation) fails its calls with `JudgeRequestRejectedError`
  naming the provider's errors; a server without the Batch API (404) says so before anything
  is sent. A row for a request the batch never had is ignored and counted (`unknown_rows`).
- HTTP requests are retried with backoff as the `openai` backend's are (`max_attempts`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

import httpx
from pydantic import Field, model_validator

from common.completions import completion_path
from common.errors import EndpointRejectedError, EndpointUnavailableError
from common.openai_http import OpenAIHttp
from common.store import content_key, off_loop
from common.urls import shown
from judges.backends.base import JudgeCall, JudgeReply
from judges.backends.openai import (
    ApiKind,
    JudgeMode,
    JudgeModelConfig,
    judge_identity,
    judge_request,
    reply_of,
)
from judges.batch_ledger import BatchLedger, LedgerBatch
from judges.errors import JudgeProtocolError, JudgeRequestRejectedError, JudgeUnavailableError

log = logging.getLogger(__name__)

WAITING = frozenset({"validating", "in_progress", "finalizing", "cancelling"})
READABLE = frozenset({"completed", "expired", "cancelled"})  # their files hold what was done


class BatchJudgeConfig(JudgeModelConfig):
    """Settings of the `openai-batch` judge backend (one server: `base_url`)."""

    kind: Literal["openai-batch"] = "openai-batch"
    batch_size: int = Field(default=5000, ge=1, le=50_000, description="requests per batch at most")
    collect_s: float = Field(
        default=2.0, ge=0, description="a batch is sent once no call has come for this long"
    )
    poll_s: float = Field(default=30.0, gt=0, description="seconds between two polls")
    completion_window: str = Field(default="24h", description="as the provider accepts it")
    batch_tries: int = Field(
        default=3,
        ge=1,
        le=10,
        description="batches a request may go into before it is recorded as invalid",
    )
    ledger: Path | None = Field(
        default=None,
        description="the SQLite file keeping batch ids (default: the service's or the "
        "command's store)",
    )

    @model_validator(mode="after")
    def _one_server(self) -> Self:
        if len(self.base_urls) != 1:
            raise ValueError("a batch judge has one server: give base_url")
        return self


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """A batch in flight as last polled."""

    id: str
    status: str
    total: int
    completed: int
    failed: int

    def __str__(self) -> str:
        return (
            f"judge batch {self.id}: {self.status}, {self.completed} of {self.total} "
            f"requests done" + (f", {self.failed} failed" if self.failed else "")
        )


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
        self._http = OpenAIHttp(config.client(transport))
        self._reset()

    def _reset(self) -> None:
        self._pending: dict[str, dict[str, Any]] = {}  # custom_id → body, not yet in a batch
        self._futures: dict[str, asyncio.Future[JudgeReply]] = {}
        self._tries: dict[str, int] = {}  # batches each request went into in this run
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
        try:
            await self._http.send("GET", f"{self.base_url}/batches", params={"limit": 1})
        except (EndpointUnavailableError, EndpointRejectedError) as error:
            return f"error: {error}"
        return "ok"

    async def aclose(self) -> None:
        """Stop polling (the batches go on at the provider; a later run resumes them)."""
        for task in [*self._tasks, *([self._dispatcher] if self._dispatcher else [])]:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for future in self._futures.values():
            if not future.done():
                future.cancel()
        await self._http.aclose()
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
        new: dict[str, dict[str, Any]] = {}
        for custom_id, body in rows.items():
            earlier = known.get(custom_id, [])
            last = earlier[-1] if earlier else None
            resumable = last is not None and last.status in WAITING | READABLE
            if resumable and custom_id not in self._tries and last is not None:
                self._tries[custom_id] = 1
                self._watch(last, {custom_id: body})
            else:
                new[custom_id] = body
        if new:
            batch = await self._create(new)
            for custom_id in new:
                self._tries[custom_id] = self._tries.get(custom_id, 0) + 1
            self._watch(batch, new)

    async def _create(self, rows: dict[str, dict[str, Any]]) -> LedgerBatch:
        lines = "".join(
            json.dumps({"custom_id": custom_id, "method": "POST", "url": self.path,
                        "body": body}) + "\n"
            for custom_id, body in rows.items()
        )  # fmt: skip
        upload = await self._call(
            "POST",
            "/files",
            files={"file": ("sxs-judge.jsonl", lines.encode("utf-8"), "application/jsonl")},
            data={"purpose": "batch"},
        )
        created = await self._call(
            "POST",
            "/batches",
            json={
                "input_file_id": _field(upload, "id", "/files"),
                "endpoint": self.path,
                "completion_window": self.config.completion_window,
                "metadata": {"sxs_judge": self.identity},
            },
        )
        batch = _batch_of(created)
        await off_loop(self.ledger.record, batch, self.base_url, self.identity, list(rows))
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
        data: dict[str, Any] = {}
        rows: dict[str, dict[str, Any]] = {}
        try:
            while batch.status in WAITING:
                data = await self._call("GET", f"/batches/{batch.id}")
                polled = _batch_of(data)
                self._progress(polled, data)
                if polled != batch:
                    await off_loop(self.ledger.update, polled)
                batch = polled
                if batch.status in WAITING:
                    await asyncio.sleep(self.config.poll_s)
            rows = self._pollers.pop(batch.id)
            self.in_flight.pop(batch.id, None)
            if batch.status not in READABLE:  # failed as a whole: asking again cannot help
                raise JudgeRequestRejectedError(
                    f"judge batch {batch.id} at {shown(self.base_url)} {batch.status}: "
                    f"{_batch_errors(data)}"
                )
            await self._collect(batch, rows)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self.in_flight.pop(batch.id, None)
            self._fail(rows or self._pollers.pop(batch.id, {}), error)

    def _progress(self, batch: LedgerBatch, data: dict[str, Any]) -> None:
        counts = data.get("request_counts") or {}
        self.in_flight[batch.id] = BatchProgress(
            batch.id, batch.status, int(counts.get("total") or 0),
            int(counts.get("completed") or 0), int(counts.get("failed") or 0),
        )  # fmt: skip

    async def _collect(self, batch: LedgerBatch, rows: dict[str, dict[str, Any]]) -> None:
        """Resolve the calls a finished batch answered; send the others to a later batch."""
        outputs = await self._rows_in(batch.output_file_id)
        errors = await self._rows_in(batch.error_file_id)
        mine = await off_loop(self.ledger.batches_of, [*outputs, *errors], self.base_url)
        unknown = [cid for cid in {**outputs, **errors}
                   if batch.id not in {b.id for b in mine.get(cid, [])}]  # fmt: skip
        if unknown:
            self.unknown_rows += len(unknown)
            log.warning("judge batch %s returned %d rows for requests it never had (e.g. %s): "
                        "ignored", batch.id, len(unknown), unknown[0])  # fmt: skip
        for custom_id, body in rows.items():
            row = outputs.get(custom_id)
            response = (row or {}).get("response") or {}
            if row is not None and response.get("status_code") == 200 and not row.get("error"):
                try:
                    reply = reply_of(response["body"], self.config.mode, self._chat)
                except (KeyError, IndexError, TypeError, ValueError) as error:
                    self._again(custom_id, body, f"a malformed reply ({error})")
                    continue
                self._resolve(custom_id, reply)
            else:
                self._again(custom_id, body, _row_error(errors.get(custom_id) or row, batch))

    @property
    def _chat(self) -> bool:
        return self.config.api is ApiKind.CHAT

    def _again(self, custom_id: str, body: dict[str, Any], reason: str) -> None:
        tries = self._tries.get(custom_id, 1)
        if tries < self.config.batch_tries:
            log.info("judge request %s: %s; it goes into a later batch", custom_id[:12], reason)
            self._queue(custom_id, body)
            return
        failed = f"no reply from {tries} judge batches: {reason}"
        self._resolve(custom_id, JudgeReply(raw=f"[{failed}]", verdict=None, failed=failed))

    async def _rows_in(self, file_id: str | None) -> dict[str, dict[str, Any]]:
        if not file_id:
            return {}
        text = await self._call("GET", f"/files/{file_id}/content", text=True)
        rows: dict[str, dict[str, Any]] = {}
        for number, line in enumerate(str(text).splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                rows[str(row["custom_id"])] = row
            except (ValueError, KeyError, TypeError):
                raise JudgeProtocolError(
                    f"line {number} of file {file_id} from {shown(self.base_url)} is not a "
                    f"batch result row: {line[:120]!r}"
                ) from None
        return rows

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

    async def _call(self, method: str, path: str, **request: Any) -> Any:
        url = f"{self.base_url}{path}"
        try:
            return await self._http.send(method, url, **request)
        except EndpointRejectedError as error:
            if error.status in (404, 405):
                raise JudgeRequestRejectedError(
                    f"{shown(url)} answered HTTP {error.status}: this server does not offer "
                    "the Batch API (/v1/files and /v1/batches). Use kind 'openai' to judge "
                    "with online calls."
                ) from None
            raise JudgeRequestRejectedError(f"judge batch API refused: {error}") from None
        except EndpointUnavailableError as error:
            raise JudgeUnavailableError(
                f"judge batch API {error.url} failed after {error.attempts} attempts: "
                f"{error.reason}. Is the server reachable? Check base_url."
            ) from None


def _retrieved(future: asyncio.Future[Any]) -> None:
    """Mark a failed future's exception as seen (its caller may be gone)."""
    if not future.cancelled():
        future.exception()


def _field(data: Any, name: str, where: str) -> str:
    try:
        return str(data[name])
    except (KeyError, TypeError):
        raise JudgeProtocolError(f"{where} answered without {name!r}: {str(data)[:200]}") from None


def _batch_of(data: Any) -> LedgerBatch:
    """A batch object's id, status and files."""
    try:
        return LedgerBatch(
            str(data["id"]), str(data["status"]), data.get("output_file_id"),
            data.get("error_file_id"),
        )  # fmt: skip
    except (KeyError, TypeError, AttributeError):
        raise JudgeProtocolError(f"not a batch object: {str(data)[:200]}") from None


def _batch_errors(data: dict[str, Any]) -> str:
    errors = (data.get("errors") or {}).get("data") or []
    messages = [str(e.get("message") or e.get("code")) for e in errors if isinstance(e, dict)]
    return "; ".join(messages[:3]) or "the provider gave no reason"


def _row_error(row: dict[str, Any] | None, batch: LedgerBatch) -> str:
    """Why a request has no usable reply in a finished batch."""
    if row is None:
        return f"not in the output of batch {batch.id} ({batch.status})"
    error = row.get("error") or {}
    if isinstance(error, dict) and (error.get("code") or error.get("message")):
        return f"{error.get('code') or 'error'}: {error.get('message') or ''}".strip(": ")
    response = row.get("response") or {}
    return f"HTTP {response.get('status_code')} in batch {batch.id}"
