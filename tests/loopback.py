"""Serve an ASGI app with a real uvicorn server on 127.0.0.1, in a background thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from service.background import free_port, serving_in_background

__all__ = ["free_port", "serving"]


@contextmanager
def serving(app: Any, startup_timeout_s: float = 10.0) -> Iterator[str]:
    """Run `app` on a free loopback port; yields its base URL with /v1."""
    with serving_in_background(app, startup_timeout_s=startup_timeout_s) as root:
        yield f"{root}/v1"
