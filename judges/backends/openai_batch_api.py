"""The OpenAI Files / Batches wire format: upload a JSONL file, create, find, poll a batch, read
its result rows. Provider-neutral batching (gathering, the ledger, retries) is `batch.py`'s.

Every request but the batch's creation is retried as the `openai` backend's are
(`max_attempts`). Creation is sent once: a create whose answer was lost (a timeout, a dropped
connection, a 5xx) may have made a batch, so the caller looks for it by its `sxs_intent`
metadata tag (`find`) before it creates another.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from common.errors import EndpointRejectedError, EndpointUnavailableError
from common.openai_http import OpenAIHttp, RetryPolicy
from common.urls import shown
from judges.batch_ledger import LedgerBatch
from judges.errors import JudgeProtocolError, JudgeRequestRejectedError, JudgeUnavailableError

WAITING = frozenset({"validating", "in_progress", "finalizing", "cancelling"})
READABLE = frozenset({"completed", "expired", "cancelled"})  # their files hold what was done
INTENT_TAG = "sxs_intent"  # the metadata key naming the ledger's intent a batch was made for
LIST_PAGES = 10  # pages of 100 batches searched for an intent's batch (newest first)


class CreateUncertainError(Exception):
    """`POST /batches` got no answer: a batch may or may not have been made."""


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


class BatchApi:
    """One server's `/files` and `/batches` (`base_url` ends in /v1)."""

    def __init__(self, base_url: str, http: OpenAIHttp) -> None:
        self.base_url = base_url
        self._http = http

    async def probe(self) -> str:
        """`ok` when the server lists its batches (it offers the Batch API), else the error."""
        try:
            await self._http.send("GET", f"{self.base_url}/batches", params={"limit": 1})
        except (EndpointUnavailableError, EndpointRejectedError) as error:
            return f"error: {error}"
        return "ok"

    async def upload(self, requests: dict[str, dict[str, Any]], endpoint: str) -> str:
        """Upload one request line per `custom_id → body`; the file's id."""
        lines = "".join(
            json.dumps({"custom_id": custom_id, "method": "POST", "url": endpoint,
                        "body": body}) + "\n"
            for custom_id, body in requests.items()
        )  # fmt: skip
        upload = await self._call(
            "POST",
            "/files",
            files={"file": ("sxs-judge.jsonl", lines.encode("utf-8"), "application/jsonl")},
            data={"purpose": "batch"},
        )
        return _field(upload, "id", "/files")

    async def create(
        self,
        file_id: str,
        endpoint: str,
        window: str,
        metadata: dict[str, str],
        retry: RetryPolicy,
    ) -> LedgerBatch:
        """Create a batch once. A create that got no answer is not sent again blindly: the batch
        is looked for by its `INTENT_TAG` first (`retry.max_attempts` creates at most);
        `CreateUncertainError` when none answered and none is found."""
        body = {"input_file_id": file_id, "endpoint": endpoint, "completion_window": window,
                "metadata": metadata}  # fmt: skip
        async for attempt in retry.retrying(CreateUncertainError):
            with attempt:
                found = None
                if attempt.retry_state.attempt_number > 1:
                    found = await self.find(metadata[INTENT_TAG])
                return found or await self._create_once(body)
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def _create_once(self, body: dict[str, Any]) -> LedgerBatch:
        url = f"{self.base_url}/batches"
        try:
            return batch_of(await self._http.send_once("POST", url, json=body))
        except EndpointUnavailableError as error:
            raise CreateUncertainError(error.reason) from None
        except EndpointRejectedError as error:
            raise _rejected(url, error) from None

    async def find(self, intent: str) -> LedgerBatch | None:
        """The batch whose metadata names `intent`, among the newest `LIST_PAGES` pages."""
        after: str | None = None
        for _ in range(LIST_PAGES):
            params: dict[str, Any] = {"limit": 100} | ({"after": after} if after else {})
            page = await self._call("GET", "/batches", params=params)
            data = page.get("data") or [] if isinstance(page, dict) else []
            for batch in data:
                if isinstance(batch, dict) and (batch.get("metadata") or {}).get(INTENT_TAG) == (
                    intent
                ):
                    return batch_of(batch)
            if not data or not page.get("has_more"):
                return None
            after = str(data[-1].get("id"))
        return None

    async def retrieve(self, batch_id: str) -> tuple[LedgerBatch, BatchProgress, str]:
        """A batch's state, its request counts, and the provider's errors (for a failed one)."""
        data = await self._call("GET", f"/batches/{batch_id}")
        batch = batch_of(data)
        counts = data.get("request_counts") or {}
        progress = BatchProgress(
            batch.id, batch.status, int(counts.get("total") or 0),
            int(counts.get("completed") or 0), int(counts.get("failed") or 0),
        )  # fmt: skip
        return batch, progress, _batch_errors(data)

    async def rows(self, file_id: str | None) -> dict[str, dict[str, Any]]:
        """The rows of a result (output or error) file, by `custom_id`."""
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

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _call(self, method: str, path: str, **request: Any) -> Any:
        url = f"{self.base_url}{path}"
        try:
            return await self._http.send(method, url, **request)
        except EndpointRejectedError as error:
            raise _rejected(url, error) from None
        except EndpointUnavailableError as error:
            raise JudgeUnavailableError(
                f"judge batch API {error.url} failed after {error.attempts} attempts: "
                f"{error.reason}. Is the server reachable? Check base_url."
            ) from None


def answer_of(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """The response body of a row answered with HTTP 200 and no error, else None."""
    response = (row or {}).get("response") or {}
    if row is None or row.get("error") or response.get("status_code") != 200:
        return None
    body = response.get("body")
    return body if isinstance(body, dict) else None


def row_error(row: dict[str, Any] | None, batch: LedgerBatch) -> str:
    """Why a request has no usable reply in a finished batch."""
    if row is None:
        return f"not in the output of batch {batch.id} ({batch.status})"
    error = row.get("error") or {}
    if isinstance(error, dict) and (error.get("code") or error.get("message")):
        return f"{error.get('code') or 'error'}: {error.get('message') or ''}".strip(": ")
    response = row.get("response") or {}
    body = response.get("body") if isinstance(response, dict) else None
    reason = (body or {}).get("error") if isinstance(body, dict) else None
    message = reason.get("message") if isinstance(reason, dict) else None
    status = response.get("status_code") if isinstance(response, dict) else None
    return f"HTTP {status}: {message}" if message else f"HTTP {status} in batch {batch.id}"


def batch_of(data: Any) -> LedgerBatch:
    """A batch object's id, status and files."""
    try:
        return LedgerBatch(
            str(data["id"]), str(data["status"]), data.get("output_file_id"),
            data.get("error_file_id"),
        )  # fmt: skip
    except (KeyError, TypeError, AttributeError):
        raise JudgeProtocolError(f"not a batch object: {str(data)[:200]}") from None


def _rejected(url: str, error: EndpointRejectedError) -> JudgeRequestRejectedError:
    if error.status in (404, 405):
        return JudgeRequestRejectedError(
            f"{shown(url)} answered HTTP {error.status}: this server does not offer the Batch "
            "API (/v1/files and /v1/batches). Use kind 'openai' to judge with online calls."
        )
    return JudgeRequestRejectedError(f"judge batch API refused: {error}")


def _field(data: Any, name: str, where: str) -> str:
    try:
        return str(data[name])
    except (KeyError, TypeError):
        raise JudgeProtocolError(f"{where} answered without {name!r}: {str(data)[:200]}") from None


def _batch_errors(data: dict[str, Any]) -> str:
    errors = (data.get("errors") or {}).get("data") or []
    messages = [str(e.get("message") or e.get("code")) for e in errors if isinstance(e, dict)]
    return "; ".join(messages[:3]) or "the provider gave no reason"
