"""Shared fixtures: an asyncio backend for anyio tests, and offline hub settings."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
