"""Judge tokens and their price: what `GET /v1/comparisons/{id}`, `sxs compare` and
`sxs matrix` report is the fake judge server's own usage figures, summed, at the configured
prices; the figures describe the comparison (a rerun from the cache reports the same, paying
nothing); a judge without prices has no cost rather than a cost of 0."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from judges.backends.openai import OpenAIJudgeConfig
from service.app import create_app
from service.background import serving_in_background
from service.cli import app
from tests.service.comparison_api import REQUEST, wait
from tests.service.fakes import JUDGE, Backends, settings

PRICES = {"prompt_per_million": 2.5, "completion_per_million": 10.0}


def judges() -> dict[str, OpenAIJudgeConfig]:
    common = {"base_url": JUDGE, "max_attempts": 1}
    return {
        "priced": OpenAIJudgeConfig.model_validate({**common, "model": "priced",
                                                    "prices": PRICES}),
        "free": OpenAIJudgeConfig.model_validate({**common, "model": "free"}),
    }  # fmt: skip


def price(prompt_tokens: int, completion_tokens: int) -> float:
    return (prompt_tokens * 2.5 + completion_tokens * 10.0) / 1e6


@pytest.fixture
def backends() -> Backends:
    return Backends()


@pytest.fixture
def client(tmp_path: Path, backends: Backends) -> Iterator[TestClient]:
    service = settings(tmp_path, judges=judges(), default_judge="priced")
    with TestClient(create_app(service, backends.transport())) as client:
        yield client


def test_a_comparison_reports_the_servers_usage_and_its_price(
    client: TestClient, backends: Backends
) -> None:
    job = client.post("/v1/comparisons", json=REQUEST).json()
    done = wait(client, job["id"], {"done", "failed"})
    assert done["status"] == "done", done["error"]
    prompt = backends.judge_tokens[("priced", "prompt")]
    completion = backends.judge_tokens[("priced", "completion")]
    assert prompt > 0 and completion == backends.judge_calls["priced"]  # '1' or '2': one char
    usage = done["summary"]["usage"]
    assert usage == {"replies": backends.judge_calls["priced"], "prompt_tokens": prompt,
                     "completion_tokens": completion, "unreported": 0}  # fmt: skip
    assert done["judge_cost"] == pytest.approx(price(prompt, completion))
    items = client.get(f"/v1/comparisons/{job['id']}/items").json()["items"]
    judged = [item for item in items if item["ab"] is not None]
    assert sum(i["ab"]["prompt_tokens"] + i["ba"]["prompt_tokens"] for i in judged) == prompt

    # the same judgments in another job (another language policy): nothing paid, same cost
    calls = backends.judge_calls["priced"]
    again = client.post("/v1/comparisons", json={**REQUEST, "language_policy": "none"}).json()
    assert again["id"] != job["id"]
    done_again = wait(client, again["id"], {"done", "failed"})
    assert done_again["summary"]["usage"] == usage
    assert done_again["judge_cost"] == done["judge_cost"]
    assert backends.judge_calls["priced"] == calls


def test_a_cost_with_replies_missing_usage_says_it_is_a_lower_bound(
    client: TestClient, backends: Backends
) -> None:
    backends.no_usage_every = 3
    job = client.post("/v1/comparisons", json=REQUEST).json()
    done = wait(client, job["id"], {"done", "failed"})
    unreported = done["summary"]["usage"]["unreported"]
    assert unreported == backends.judge_calls["priced"] // 3 > 0
    prompt = backends.judge_tokens[("priced", "prompt")]
    completion = backends.judge_tokens[("priced", "completion")]
    assert done["judge_cost"] == pytest.approx(price(prompt, completion))  # what was reported
    assert done["judge_cost_partial"] is True
    backends.no_usage_every = 0
    full = client.post("/v1/comparisons", json={**REQUEST, "model_b": "spanish"}).json()
    assert wait(client, full["id"], {"done", "failed"})["judge_cost_partial"] is False


def test_a_matrix_line_prices_a_partial_usage_as_a_lower_bound() -> None:
    from service.matrix.results import Cell
    from service.matrix.tables import usage_line

    priced = Cell(row="a", language="es", baseline="b", score=50.0, judge_replies=10,
                  judge_prompt_tokens=1000, judge_completion_tokens=10,
                  judge_replies_without_usage=4, judge_cost=0.0026)  # fmt: skip
    line = usage_line([priced])
    assert "estimated cost ≥ 0.0026 (4 replies without usage, not priced)" in line


def test_a_judge_without_prices_has_tokens_but_no_cost(client: TestClient) -> None:
    job = client.post("/v1/comparisons", json={**REQUEST, "judge": "free"}).json()
    done = wait(client, job["id"], {"done", "failed"})
    assert done["summary"]["usage"]["prompt_tokens"] > 0
    assert done["judge_cost"] is None
    panel = client.post("/v1/comparisons", json={**REQUEST, "judges": ["priced", "free"]}).json()
    assert wait(client, panel["id"], {"done", "failed"})["judge_cost"] is None


def test_the_matrix_and_compare_print_the_tokens_and_the_cost(
    tmp_path: Path, backends: Backends
) -> None:
    service = create_app(
        settings(tmp_path, judges=judges(), default_judge="priced"), backends.transport()
    )
    out = tmp_path / "m"
    with serving_in_background(service) as root:
        args = ["matrix", "--server", root, "--out", str(out), "--rows", "good,spanish",
                "--languages", "es,en", "--baselines", "es=bad,en=bad"]  # fmt: skip
        result = CliRunner().invoke(app, args)
        compared = CliRunner().invoke(app, ["compare", "good", "bad", "-l", "es",
                                            "--server", root])  # fmt: skip
    assert result.exit_code == 0, result.output
    prompt = backends.judge_tokens[("priced", "prompt")]
    completion = backends.judge_tokens[("priced", "completion")]
    cells = json.loads((out / "matrix.json").read_text("utf-8"))["cells"]
    assert sum(cell["judge_prompt_tokens"] for cell in cells) == prompt
    assert sum(cell["judge_cost"] for cell in cells) == pytest.approx(price(prompt, completion))
    line = (
        f"Judge tokens: {prompt:,} prompt + {completion:,} completion over "
        f"{backends.judge_calls['priced']:,} replies; estimated cost "
        f"{price(prompt, completion):,.4f}"
    )
    assert line in result.output
    assert line in (out / "matrix.md").read_text("utf-8")
    header = (out / "matrix.csv").read_text("utf-8").splitlines()[0]
    assert "judge_prompt_tokens" in header and "judge_cost" in header
    assert compared.exit_code == 0, compared.output
    assert "Judge tokens:" in compared.output and "estimated cost" in compared.output


def test_a_finished_comparison_stays_readable_and_priced_when_its_judge_leaves(
    tmp_path: Path, backends: Backends
) -> None:
    """The probe: a judge renamed in the config after a finished job. The view answers 200
    with the cost at the prices of the time; nothing is recomputed against today's judges."""
    with TestClient(create_app(settings(tmp_path, judges=judges(), default_judge="priced"),
                               backends.transport())) as client:  # fmt: skip
        job = client.post("/v1/comparisons", json=REQUEST).json()
        done = wait(client, job["id"], {"done", "failed"})
    assert done["status"] == "done" and done["judge_cost"] > 0
    renamed = {"renamed": judges()["free"]}  # "priced" is gone, and no judge has prices now
    with TestClient(create_app(settings(tmp_path, judges=renamed, default_judge="renamed"),
                               backends.transport())) as client:  # fmt: skip
        again = client.get(f"/v1/comparisons/{job['id']}")
        items = client.get(f"/v1/comparisons/{job['id']}/items")
    assert again.status_code == 200, again.text
    assert items.status_code == 200
    assert again.json()["judge_cost"] == pytest.approx(done["judge_cost"])
    assert again.json()["summary"] == done["summary"]
