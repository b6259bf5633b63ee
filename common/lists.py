"""Comma-separated lists as the command line and recipes write them."""

from __future__ import annotations


def comma_list(text: str | None) -> list[str]:
    """`"es, fi,,ru"` → `["es", "fi", "ru"]`: parts stripped, empty ones dropped; None → []."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]
