"""`sxs consistency` against a loopback model server speaking the OpenAI wire format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from typer.testing import CliRunner

from service.cli import app
from service.settings import SAMPLE_MCQ_SET
from tests.loopback import serving
from tests.openai_stub import openai_response
from tests.service.consistency_expectations import LANGUAGES, expected_good, expected_hashed
from tests.service.fakes import mcq_letter


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
