"""Consistency through `sxs consistency` (a loopback model server) and the service's jobs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from typer.testing import CliRunner

from generators.mcq_sets import read_mcq_set
from service.app import create_app
from service.cli import app
from service.settings import SAMPLE_MCQ_SET
from tests.loopback import serving
from tests.openai_stub import openai_response
from tests.polling import poll
from tests.service.fakes import Backends, mcq_letter, settings

SAMPLE = read_mcq_set(SAMPLE_MCQ_SET)
LANGUAGES = ["en", "es", "fi", "ru"]


def expected_good(s: int, reference: float | None = None) -> dict[str, Any]:
    """The fake 'good' model's metrics, derived by hand: right in en and es, and in fi and ru
    the option after the right one (so wrong, and wrong the same way in both)."""
    same = {("en", "es"), ("fi", "ru")}
    pairwise = {
        a: {b: 1.0 if a == b or (a, b) in same or (b, a) in same else 0.0 for b in LANGUAGES}
        for a in LANGUAGES
    }
    # s = 2: of the 6 pairs, en-es and fi-ru agree on every item; s = 3: no triple agrees
    consistency = {2: 2 / 6, 3: 0.0}[s]
    report: dict[str, Any] = {
        "accuracy": {"en": 1.0, "es": 1.0, "fi": 0.0, "ru": 0.0},
        "mean_accuracy": 0.5,
        "s": s,
        "consistency": pytest.approx(consistency),
        "ac3": pytest.approx({2: 2 * 0.5 * (1 / 3) / (0.5 + 1 / 3), 3: 0.0}[s]),
        "pairwise": pairwise,
        "chance_accuracy": 0.25,
        "missing": {"en": 0, "es": 0, "fi": 0, "ru": 0},
        "en_co": {"es": 1.0, "fi": None, "ru": None},  # nothing right in fi, ru
        "xrr": {"es": 0.75, "fi": 0.0, "ru": 0.0},  # max(both right / right in en − 1/4, 0)
    }
    if reference is not None:
        ra = (1 - 0.25) / (reference - 0.25)
        report["rescaled_accuracy"] = pytest.approx({"en": ra, "es": ra, "fi": 0.0, "ru": 0.0})
    return report


def expected_hashed(model: str, s: int) -> tuple[dict[str, float], float]:
    """Accuracy per language and Consistency_s of a model answering by the fake's hash rule,
    counted here straight from the set."""
    from itertools import combinations

    picks = {
        language: {
            item.id: "ABCD".index(mcq_letter(model, item.prompt(language))) for item in SAMPLE.items
        }
        for language in LANGUAGES
    }
    right = {item.id: item.right for item in SAMPLE.items}
    n = len(SAMPLE.items)
    accuracy = {
        language: sum(picks[language][i] == right[i] for i in right) / n for language in LANGUAGES
    }
    subsets = list(combinations(LANGUAGES, s))
    agreeing = [sum(len({picks[lang][i] for lang in subset}) == 1 for i in right) / n
                for subset in subsets]  # fmt: skip
    return accuracy, sum(agreeing) / len(subsets)


def mcq_server() -> Starlette:
    async def complete(request: Request) -> JSONResponse:
        body = await request.json()
        # 'mute' answers a word: no option letter among its top tokens
        letter = (
            "The"
            if body["model"] == "mute"
            else mcq_letter(body["model"], body["messages"][-1]["content"])
        )
        return JSONResponse(openai_response(body, lambda _: letter))

    return Starlette(routes=[Route("/v1/chat/completions", complete, methods=["POST"])])


def test_the_cli_reports_every_metric_and_reruns_from_the_store(tmp_path: Path) -> None:
    with serving(mcq_server()) as url:
        (tmp_path / "models.toml").write_text(
            f'base_model = "tiny"\nendpoints = ["{url}"]\n[adapters]\ngood = "g"\nbad = "b"\n',
            encoding="utf-8",
        )
        args = [
            *("consistency", "--models", "good,bad", "--set", str(SAMPLE_MCQ_SET)),
            *("-r", str(tmp_path / "models.toml"), "--db", str(tmp_path / "sxs.db")),
            *("--out", str(tmp_path / "out"), "--reference-accuracy", "0.9"),
        ]
        first = CliRunner().invoke(app, args)
        assert first.exit_code == 0, first.output
        assert f"{4 * 31 * 2} answers asked, 0 from the store" in first.output
        second = CliRunner().invoke(app, args)
        assert f"0 answers asked, {4 * 31 * 2} from the store" in second.output
    report = json.loads((tmp_path / "out" / "consistency.json").read_text("utf-8"))
    assert report["good"] == expected_good(3, reference=0.9)
    accuracy, consistency = expected_hashed("bad", 3)
    assert report["bad"]["accuracy"] == pytest.approx(accuracy)
    assert report["bad"]["consistency"] == pytest.approx(consistency)
    # 'good' is right in en and es only: accuracy 100 / 100 / 0 / 0
    assert report["good"]["accuracy"] == {"en": 1.0, "es": 1.0, "fi": 0.0, "ru": 0.0}
    assert report["good"]["pairwise"]["fi"]["ru"] == 1.0  # wrong the same way
    assert report["good"]["en_co"]["es"] == 1.0 and report["good"]["en_co"]["fi"] is None
    assert (tmp_path / "out" / "pairwise_consistency.png").stat().st_size > 0
    assert "Consistency_3" in first.output


def test_a_model_that_never_answers_is_neither_right_nor_consistent(tmp_path: Path) -> None:
    with serving(mcq_server()) as url:
        (tmp_path / "models.toml").write_text(
            f'base_model = "tiny"\nendpoints = ["{url}"]\n[adapters]\nmute = "m"\n', "utf-8"
        )
        result = CliRunner().invoke(
            app,
            [
                *("consistency", "--models", "mute", "--set", str(SAMPLE_MCQ_SET), "--s", "2"),
                *("-r", str(tmp_path / "models.toml"), "--db", str(tmp_path / "sxs.db")),
                *("--out", str(tmp_path / "out")),
            ],
        )
    assert result.exit_code == 0, result.output
    assert "mute: no answer (wrong, agrees with nothing) for en 31, es 31, fi 31, ru 31" in (
        result.output
    )
    report = json.loads((tmp_path / "out" / "consistency.json").read_text("utf-8"))["mute"]
    assert (report["consistency"], report["ac3"], report["mean_accuracy"]) == (0.0, 0.0, 0.0)
    assert report["missing"] == {language: 31 for language in LANGUAGES}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--models", "ghost"], "model 'ghost' is not in the registry"),
        (["--s", "5"], "s = 5 needs 1 ≤ s ≤ the number of languages (4)"),
        (["--languages", "en,sw"], "the set has no 'sw'"),
        (["--reference-accuracy", "0.2"], "must exceed chance 0.25"),
    ],
)
def test_the_cli_names_bad_input_before_any_call(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    (tmp_path / "models.toml").write_text(
        'base_model = "tiny"\nendpoints = ["http://127.0.0.1:9/v1"]\n[adapters]\ngood = "g"\n',
        encoding="utf-8",
    )
    args = [
        *("consistency", "--models", "good", "--set", str(SAMPLE_MCQ_SET)),
        *("-r", str(tmp_path / "models.toml"), "--db", str(tmp_path / "sxs.db"), *extra),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


@pytest.fixture
def backends() -> Backends:
    return Backends()


@pytest.fixture
def client(tmp_path: Path, backends: Backends) -> Iterator[TestClient]:
    # one item at a time (its four languages at once), so a job can be caught half-way
    service = create_app(settings(tmp_path, item_concurrency=1), transport=backends.transport())
    with TestClient(service) as client:
        yield client


def wait(client: TestClient, job_id: str, until: set[str]) -> dict[str, Any]:
    return dict(
        poll(
            lambda: client.get(f"/v1/consistency/{job_id}").json(),
            lambda view: view["status"] in until,
            timeout_s=30,
            what=f"consistency job {job_id} in {sorted(until)}",
        )
    )


REQUEST = {"models": ["good", "bad"], "s": 2}


def test_a_consistency_job_is_durable_idempotent_and_resumable(
    client: TestClient, backends: Backends
) -> None:
    backends.delay_s = 0.005
    submitted = client.post("/v1/consistency", json=REQUEST)
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    assert job["progress"]["total"] == 2 * 31
    poll(
        lambda: client.get(f"/v1/consistency/{job['id']}").json(),
        lambda view: view["progress"]["done"] >= 10,
        timeout_s=30,
        what="10 units answered",
    )
    backends.down = {"gen.test"}
    failed = wait(client, job["id"], {"failed"})
    assert "gen.test" in failed["error"]
    asked_before = sum(backends.mcq.values())
    done_before = failed["progress"]["done"]
    assert 10 <= done_before < 62

    backends.down = set()
    again = client.post("/v1/consistency", json=REQUEST)
    assert again.status_code == 200 and again.json()["id"] == job["id"]
    done = wait(client, job["id"], {"done"})
    assert done["progress"] == {"done": 62, "total": 62}
    # resumed: the stored units were not asked again (only requests in flight at the failure)
    assert sum(backends.mcq.values()) - asked_before <= (62 - done_before) * 4 + 8
    assert max(backends.mcq.values()) <= 2
    assert done["report"]["good"] == expected_good(2)
    accuracy, consistency = expected_hashed("bad", 2)
    assert done["report"]["bad"]["accuracy"] == pytest.approx(accuracy)
    assert done["report"]["bad"]["consistency"] == pytest.approx(consistency)

    asked = sum(backends.mcq.values())
    repeat = client.post("/v1/consistency", json=REQUEST)
    assert repeat.status_code == 200 and repeat.json()["report"] == done["report"]
    assert sum(backends.mcq.values()) == asked  # a finished job costs nothing


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"models": ["ghost"]}, 422, "model 'ghost' is not in the registry"),
        ({"models": ["good"], "s": 5}, 422, "s = 5 needs"),
        ({"models": ["good"], "languages": ["en", "sw"]}, 422, "the set has no 'sw'"),
        ({"models": ["good"], "mcq_set": "mmlu"}, 404, "set 'mmlu' is not registered"),
        ({"models": ["good", "good"]}, 422, "models repeat an entry"),
    ],
)
def test_bad_consistency_requests(
    client: TestClient, backends: Backends, body: dict[str, Any], status: int, message: str
) -> None:
    response = client.post("/v1/consistency", json=body)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]
    assert not backends.mcq


def test_job_kinds_do_not_mix(client: TestClient) -> None:
    comparison = client.post(
        "/v1/comparisons", json={"model_a": "good", "model_b": "bad", "language": "es"}
    ).json()
    missing = client.get(f"/v1/consistency/{comparison['id']}")
    assert missing.status_code == 404
    assert client.get("/v1/mcq-sets").json() == [
        {"id": "sample", "items": 31, "languages": ["en", "es", "fi", "ru"]}
    ]
