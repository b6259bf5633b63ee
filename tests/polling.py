"""One way for a test to wait: poll with a deadline, and say what was last seen when it passes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def poll(
    fetch: Callable[[], Any],
    until: Callable[[Any], bool],
    *,
    timeout_s: float = 60.0,
    interval_s: float = 0.02,
    what: str = "the condition",
) -> Any:
    """`fetch()` until `until(value)` holds; its value. An `AssertionError` naming `what` and
    the last value seen after `timeout_s`, so a hung job fails with its state, never hangs."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = fetch()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout_s:g} s; last seen: {value}")
        time.sleep(interval_s)
