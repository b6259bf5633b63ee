"""Plumbing shared by `judges`, `generators` and `training`: JSONL files, atomic writes, content-
keyed SQLite stores, the cached-batch skeleton, and calls to OpenAI-compatible servers (client
settings, request bodies, bounded retries). A leaf: it imports none of them."""
