"""URLs as they may be shown: credentials (`user:secret@`) never leave in a message, a log line
or an answer; the requests themselves still carry them."""

from __future__ import annotations

import httpx


def shown(url: str) -> str:
    """`url` with its user-info replaced by `***` (`http://***@host/v1`); unchanged without."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return url.split("@")[-1] if "@" in url else url
    if not parsed.userinfo:
        return url
    return str(parsed.copy_with(username="***", password=None))
