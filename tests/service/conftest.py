"""Fixtures of the service tests: the protocol-true fake backends, and the real app on a fresh
SQLite file in front of them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from tests.service.fakes import Backends, settings


@pytest.fixture
def backends() -> Backends:
    return Backends()


@pytest.fixture
def client(tmp_path: Path, backends: Backends) -> Iterator[TestClient]:
    app = create_app(settings(tmp_path), transport=backends.transport())
    with TestClient(app) as client:
        yield client
