"""A fake provider speaking the OpenAI Batch API: `/v1/files` (multipart upload, content) and
`/v1/batches` (create, retrieve, list), as an httpx transport.

A batch moves validating → in_progress → finalizing → completed, one step per retrieval
(`hold` keeps it in_progress). Its requests are answered by the scripted judge of
`tests.openai_stub` when it completes: the output file holds a row per answered request (with
the stub's usage), the error file a row per failed one. Scripts: `failing(custom_id, tries)`
names an error code for a request (tries: batches it has been in); `expire` makes the next
batches expire with only their first half done; `invalid_next` fails the next batch's
validation; `unknown_row` adds a row for a request nobody sent; `errors_in_body` writes a failed
row as an HTTP 400 whose reason is in the response body (`error: null`, as OpenAI does);
`lost_creates` creates that many next batches and then drops the connection before answering
(an ambiguous create); `batches=False` is a server without the Batch API (404). Batches are
listed newest first, `limit` a page, `after` the last id of the previous page.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from tests.openai_stub import Policy, openai_response, prefer_longer

STEPS = ["validating", "in_progress", "finalizing", "completed"]


def _parts(request: httpx.Request) -> dict[str, bytes]:
    """The fields of a multipart/form-data body, by name."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.content)
    found: dict[str, bytes] = {}
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found[str(part.get_param("name", header="content-disposition"))] = payload
    return found


class FakeBatchServer(httpx.AsyncBaseTransport):
    """The Batch API of one provider, in memory."""

    def __init__(self, policy: Policy = prefer_longer, *, batches: bool = True) -> None:
        self.policy = policy
        self.offers_batches = batches
        self.files: dict[str, str] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.inputs: dict[str, list[dict[str, Any]]] = {}
        self.tries: Counter[str] = Counter()  # batches each custom_id went into
        self.tokens: Counter[str] = Counter()  # prompt / completion tokens answered
        self.answered = 0
        self.retrievals = 0
        self.hold = False
        self.expire = 0
        self.invalid_next = False
        self.unknown_row = False
        self.errors_in_body = False
        self.lost_creates = 0
        self.failing: Callable[[str, int], str | None] = lambda custom_id, tries: None
        self._ids = itertools.count(1)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        path = request.url.path
        if not self.offers_batches or not path.startswith("/v1/"):
            return _error(404, "not_found", f"{path} is not served here")
        parts = path.removeprefix("/v1/").split("/")
        if parts == ["files"] and request.method == "POST":
            return self._upload(request)
        if parts[0] == "files" and len(parts) == 3 and parts[2] == "content":
            if parts[1] not in self.files:
                return _error(404, "not_found", f"no file {parts[1]}")
            return httpx.Response(200, text=self.files[parts[1]])
        if parts == ["batches"] and request.method == "POST":
            created = self._create(json.loads(request.content))
            if self.lost_creates and created.status_code == 200:
                self.lost_creates -= 1
                raise httpx.ReadTimeout("the connection dropped before the answer", request=request)
            return created
        if parts == ["batches"]:
            return self._list(request.url.params)
        if parts[0] == "batches" and len(parts) == 2 and parts[1] in self.batches:
            return httpx.Response(200, json=self._advance(parts[1]))
        return _error(404, "not_found", f"no route {request.method} {path}")

    def _upload(self, request: httpx.Request) -> httpx.Response:
        fields = _parts(request)
        if fields.get("purpose") != b"batch":
            return _error(400, "invalid_purpose", "purpose must be batch")
        file_id = f"file-{next(self._ids)}"
        self.files[file_id] = fields["file"].decode("utf-8")
        return httpx.Response(200, json={"id": file_id, "object": "file", "purpose": "batch",
                                         "bytes": len(fields["file"])})  # fmt: skip

    def _create(self, body: dict[str, Any]) -> httpx.Response:
        source = self.files.get(body.get("input_file_id", ""))
        if source is None:
            return _error(404, "not_found", "no such input file")
        batch_id = f"batch_{next(self._ids)}"
        rows = [json.loads(line) for line in source.splitlines() if line.strip()]
        for row in rows:
            self.tries[row["custom_id"]] += 1
        self.inputs[batch_id] = rows
        self.batches[batch_id] = {
            "id": batch_id, "object": "batch", "endpoint": body["endpoint"],
            "input_file_id": body["input_file_id"], "completion_window": body["completion_window"],
            "metadata": body.get("metadata"),
            "status": "validating", "output_file_id": None, "error_file_id": None, "errors": None,
            "request_counts": {"total": len(rows), "completed": 0, "failed": 0},
        }  # fmt: skip
        return httpx.Response(200, json=self.batches[batch_id])

    def _list(self, params: httpx.QueryParams) -> httpx.Response:
        newest_first = list(reversed(self.batches))
        after = params.get("after")
        start = newest_first.index(after) + 1 if after in newest_first else 0
        page = newest_first[start : start + int(params.get("limit", 20))]
        return httpx.Response(200, json={
            "object": "list", "data": [self.batches[i] for i in page],
            "first_id": page[0] if page else None, "last_id": page[-1] if page else None,
            "has_more": start + len(page) < len(newest_first),
        })  # fmt: skip

    def _advance(self, batch_id: str) -> dict[str, Any]:
        self.retrievals += 1
        batch = self.batches[batch_id]
        status = batch["status"]
        if status not in STEPS or status == "completed":
            return batch
        if status == "validating" and self.invalid_next:
            self.invalid_next = False
            batch["status"] = "failed"
            batch["errors"] = {"object": "list", "data": [
                {"code": "invalid_model", "message": "model 'judge' is not available for batches",
                 "line": 1}]}  # fmt: skip
            return batch
        following = STEPS[STEPS.index(status) + 1]
        if following == "finalizing" and self.hold:
            return batch
        batch["status"] = following
        if following == "completed":
            self._finish(batch)
        return batch

    def _finish(self, batch: dict[str, Any]) -> None:
        rows = self.inputs[batch["id"]]
        done = rows
        if self.expire:
            self.expire -= 1
            batch["status"] = "expired"
            done = rows[: len(rows) // 2]
        outputs, errors = [], []
        for row in rows:
            custom_id = row["custom_id"]
            code = "batch_expired" if row not in done else self.failing(
                custom_id, self.tries[custom_id])  # fmt: skip
            if code is not None and self.errors_in_body:
                body = {"error": {"message": f"request failed: {code}", "type": code}}
                errors.append({"id": f"batch_req_{next(self._ids)}", "custom_id": custom_id,
                               "response": {"status_code": 400, "body": body},
                               "error": None})  # fmt: skip
                continue
            if code is not None:
                error = {"code": code, "message": f"request failed: {code}"}
                errors.append({"id": f"batch_req_{next(self._ids)}", "custom_id": custom_id,
                               "response": None, "error": error})  # fmt: skip
                continue
            answer = openai_response(row["body"], self.policy)
            self.answered += 1
            for kind in ("prompt", "completion"):
                self.tokens[kind] += answer["usage"][f"{kind}_tokens"]
            outputs.append({"id": f"batch_req_{next(self._ids)}", "custom_id": custom_id,
                            "response": {"status_code": 200, "request_id": "req", "body": answer},
                            "error": None})  # fmt: skip
        if self.unknown_row:
            outputs.append({"id": "batch_req_x", "custom_id": "nobody-sent-this", "error": None,
                            "response": {"status_code": 200, "body": outputs[0]["response"]["body"]
                                         if outputs else {}}})  # fmt: skip
        for kind, lines in (("output_file_id", outputs), ("error_file_id", errors)):
            if lines:
                file_id = f"file-{next(self._ids)}"
                self.files[file_id] = "".join(json.dumps(line) + "\n" for line in lines)
                batch[kind] = file_id
        batch["request_counts"] = {"total": len(rows), "completed": len(outputs),
                                   "failed": len(errors)}  # fmt: skip


def _error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})
