"""Plumbing shared by `judges`, `generators` and `training`: JSONL files, atomic writes, and
calls to OpenAI-compatible servers with bounded retries. A leaf: it imports none of them."""
