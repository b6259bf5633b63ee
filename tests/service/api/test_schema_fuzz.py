"""Schemathesis against the OpenAPI schema: no generated request gets a 5xx.

The real app is built inside the test, on a temporary folder pytest removes, with
protocol-true fake backends, and served by uvicorn on loopback (one event loop, as in
production: jobs a request starts run there); every operation of its schema gets its own
Hypothesis run over real HTTP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from service.app import create_app
from service.background import serving_in_background
from tests.service.fakes import Backends
from tests.service.fakes import settings as service_settings

EXAMPLES = 150  # per operation: about 12 s for the whole schema on a 2-core machine


def test_no_generated_request_gets_a_server_error(tmp_path: Path) -> None:
    app = create_app(service_settings(tmp_path), transport=Backends().transport())
    failures: list[str] = []
    calls: list[str] = []
    with serving_in_background(app) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
        assert len(operations) >= 10, [op.label for op in operations]
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES,
                deadline=None,  # a slow example is the app doing real work (a job, SQLite)
                suppress_health_check=[HealthCheck.too_slow],
                database=None,
            )
            def no_server_error(case: schemathesis.Case[Any]) -> None:
                response = case.call()
                calls.append(f"{case.method} {case.operation.path}")
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.path}: {response.text[:300]}")
                assert response.status_code < 500, failures[-1]

            no_server_error()
    assert not failures
    # every operation was exercised, those with request bodies or parameters many times
    assert set(calls) == {f"{op.method.upper()} {op.path}" for op in operations}
    assert len(calls) >= 5 * EXAMPLES, len(calls)
