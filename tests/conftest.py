"""Shared fixtures: an asyncio backend for anyio tests, and offline hub settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the checkout: skipped where absent, but CI must have it."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED_DATA} is missing; CI runs with shared/ beside the clone")
        pytest.skip(f"{SHARED_DATA} is not beside the checkout")
    return SHARED_DATA
