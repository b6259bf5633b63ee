"""Schemathesis against the OpenAPI schema: no generated request gets a 5xx."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from service.app import create_app
from tests.service.fakes import Backends
from tests.service.fakes import settings as service_settings

_folder = Path(tempfile.mkdtemp(prefix="sxs-fuzz-"))
app = create_app(service_settings(_folder), transport=Backends().transport())
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case: schemathesis.Case[Any]) -> None:
    response = case.call()
    assert response.status_code < 500, f"{case.method} {case.path}: {response.text[:500]}"
