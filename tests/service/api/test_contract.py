"""The API keeps its own contract, checked by schemathesis with every check it has: status
codes and bodies as documented, schema-valid requests accepted, invalid ones refused, and a
workflow over the documented links (submit → get → items → cancel).

The real app is built inside each test, on a temporary folder pytest removes, with
protocol-true fake backends, and served by uvicorn on loopback: one event loop, as in
production, over real HTTP.
"""

from __future__ import annotations

import copy
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup

from service.app import create_app
from service.background import serving_in_background
from tests.service.fakes import Backends
from tests.service.fakes import settings as service_settings

EXAMPLES = 60  # per operation, every check: about 15 s for the whole schema on 2 cores
WORKFLOWS = 25  # stateful runs of up to 6 linked calls each
ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}
CONFIG = SchemathesisConfig.from_path(Path(__file__).with_name("schemathesis.toml"))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    app = create_app(service_settings(tmp_path), transport=Backends().transport())
    with serving_in_background(app) as url:
        yield url


def operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def test_every_operation_keeps_its_contract(served: str) -> None:
    schema = schemathesis.openapi.from_url(f"{served}/openapi.json", config=CONFIG)
    checked: Counter[str] = Counter()
    for operation in operations(schema):

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,  # a slow example is the app doing real work (a job, SQLite)
            suppress_health_check=[HealthCheck.too_slow],
            database=None,
        )
        def keeps_the_contract(case: schemathesis.Case[Any]) -> None:
            checked[f"{case.method} {case.operation.path}"] += 1
            case.call_and_validate()  # every check: a failure raises with a curl to repeat it

        keeps_the_contract()
    assert set(checked) == {f"{op.method.upper()} {op.path}" for op in operations(schema)}
    assert sum(checked.values()) >= 5 * EXAMPLES, checked


@pytest.mark.parametrize(
    ("resource", "linked"),
    [
        (
            "/v1/comparisons",
            {"GET /v1/comparisons/{job_id}", "GET /v1/comparisons/{job_id}/items"},
        ),
        ("/v1/consistency", {"GET /v1/consistency/{job_id}"}),
    ],
)
def test_a_workflow_over_the_links_keeps_the_contract(
    served: str, tmp_path: Path, resource: str, linked: set[str]
) -> None:
    """Submit, then follow the documented links (get, items, cancel) with the job's id.

    The workflow draws comparison languages from the sample eval set's, so that submissions
    succeed and there are links to follow (any other language is the per-operation test's)."""
    spec = httpx.get(f"{served}/openapi.json").json()
    language = spec["components"]["schemas"]["ComparisonRequest"]["properties"]["language"]
    language["enum"] = httpx.get(f"{served}/v1/eval-sets").json()[0]["languages"]
    schema = schemathesis.openapi.from_dict(spec, config=CONFIG)
    schema.config.update(base_url=served)
    followed: Counter[tuple[str, int]] = Counter()

    class Workflow(schema.include(path_regex=f"^{resource}").as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            """Each run starts with no job, so a replayed run meets the same answers (202,
            not 200 for a job an earlier run made); the stores may keep their results."""
            with sqlite3.connect(tmp_path / "sxs.db") as db:
                db.execute("delete from job_items")
                db.execute("delete from jobs")

        def after_call(self, response: Any, case: schemathesis.Case[Any]) -> None:
            followed[(f"{case.method} {case.operation.path}", response.status_code)] += 1

    run_state_machine_as_test(
        Workflow,
        settings=settings(
            max_examples=WORKFLOWS,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )
    # the links were followed to a job that exists: the id came from a submission
    assert any(call in linked and status == 200 for call, status in followed), followed


def test_a_status_code_the_schema_does_not_declare_fails_the_check(served: str) -> None:
    """The checks have teeth: the same server against a schema whose 404 was taken away."""
    spec = httpx.get(f"{served}/openapi.json").json()
    flipped = copy.deepcopy(spec)
    del flipped["paths"]["/v1/comparisons/{job_id}"]["get"]["responses"]["404"]
    operation = schemathesis.openapi.from_dict(flipped)["/v1/comparisons/{job_id}"]["GET"]
    case = operation.Case(path_parameters={"job_id": "no-such-job"})
    with pytest.raises(FailureGroup) as raised:
        case.call_and_validate(base_url=served)
    assert "Undocumented status code" in str(raised.value)
    assert "Received: 404" in str(raised.value)
    # and against the real schema the same call passes
    real = schemathesis.openapi.from_dict(spec)["/v1/comparisons/{job_id}"]["GET"]
    real.Case(path_parameters={"job_id": "no-such-job"}).call_and_validate(base_url=served)


def test_every_route_documents_its_errors_with_the_error_body(served: str) -> None:
    spec = httpx.get(f"{served}/openapi.json").json()
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            responses = operation["responses"]
            expected = {"500"} | (
                {"401", "404", "409", "413", "422"} if path[:4] == "/v1/" else set()
            )
            assert expected <= set(responses), (method, path, sorted(responses))
            for code in expected:
                body = responses[code]["content"]["application/json"]["schema"]
                assert body == ERROR_BODY, (method, path, code)
                assert responses[code]["description"], (method, path, code)
    judging = spec["paths"]["/v1/judgments"]["post"]["responses"]
    assert "502" in judging  # a judge that fails


def test_an_undeclared_method_is_405_with_allow_and_the_error_body(served: str) -> None:
    spec = httpx.get(f"{served}/openapi.json").json()
    tried = 0
    for path, methods in spec["paths"].items():
        declared = sorted(m.upper() for m in methods)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "TRACE", "OPTIONS"):
            if method in declared:
                continue
            response = httpx.request(method, served + path.replace("{job_id}", "x"))
            tried += 1
            assert response.status_code == 405, (method, path, response.text)
            assert response.headers["allow"] == ", ".join(declared), (method, path)
            error = response.json()["error"]
            assert error["type"] == "method_not_allowed"
            assert f"{method} is not a method of" in error["message"]
    assert tried >= 60
