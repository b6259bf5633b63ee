"""Shared fixtures: an asyncio backend for anyio tests, offline hub settings, and the public
data beside the checkout (../shared/data), whose absence is said loudly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# SXS_SHARED_DATA points elsewhere (the tests of this fixture use it)
SHARED_DATA = Path(
    os.environ.get("SXS_SHARED_DATA")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)
_SKIPPED_WITHOUT_DATA: list[str] = []

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def shared_data(request: pytest.FixtureRequest) -> Path:
    """../shared/data beside the checkout. Absent: the test is skipped and the run ends with a
    banner naming it (CI must have it: there it fails). Present but unreadable: it fails."""
    if not SHARED_DATA.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED_DATA} is missing; CI runs with shared/ beside the clone")
        _SKIPPED_WITHOUT_DATA.append(request.node.nodeid)
        pytest.skip(f"{SHARED_DATA} is not beside the checkout: this test did NOT run")
    readme = SHARED_DATA / "README.md"
    if not (SHARED_DATA.is_dir() and os.access(SHARED_DATA, os.R_OK | os.X_OK)):
        pytest.fail(f"{SHARED_DATA} is there but is not a readable folder")
    try:
        readme.read_text("utf-8")
    except OSError as error:
        pytest.fail(f"{SHARED_DATA} is there but unreadable ({error})")
    return SHARED_DATA


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """A banner listing the tests that did not run for want of ../shared/data."""
    if _SKIPPED_WITHOUT_DATA:
        terminalreporter.write_sep(
            "!", f"{len(_SKIPPED_WITHOUT_DATA)} tests did not run: {SHARED_DATA} is missing"
        )
        for nodeid in _SKIPPED_WITHOUT_DATA:
            terminalreporter.write_line(f"  not run: {nodeid}")
