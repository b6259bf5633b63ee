"""`--judge` repeated on `sxs compare` and `sxs matrix`: a panel through a real HTTP server,
its judges and kappas on the terminal, in matrix.json and in matrix.md; an unknown judge in
the panel is named before any call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.app import create_app
from service.background import serving_in_background
from service.cli import app
from tests.openai_stub import answers_in, is_judge_prompt, prefer_longer
from tests.service.comparison_api import SPANISH, expected_score
from tests.service.fakes import Backends, scripted_judges, settings


def prefer_shorter(prompt: str) -> str:
    if not is_judge_prompt(prompt):
        return "1"
    first, second = answers_in(prompt)
    return "1" if len(first) < len(second) else "2"


POLICIES = {"longer": prefer_longer, "first": lambda _: "1", "shorter": prefer_shorter}


@pytest.fixture
def backends() -> Backends:
    backends = Backends()
    backends.judge_policies = dict(POLICIES)
    return backends


@pytest.fixture
def server(tmp_path: Path, backends: Backends) -> Iterator[str]:
    judges = scripted_judges(POLICIES)
    service = create_app(
        settings(tmp_path, judges=judges, default_judge="longer"), backends.transport()
    )
    with serving_in_background(service) as root:
        yield root


PANEL = ["--judge", "longer", "--judge", "first", "--judge", "shorter"]


def test_compare_with_a_panel_prints_each_judge_and_the_kappas(
    server: str, backends: Backends
) -> None:
    result = CliRunner().invoke(app, ["compare", "good", "bad", "-l", "es", "--server", server,
                                      *PANEL])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "the panel's judges" in result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines()
            if line.count("│") > 3}  # fmt: skip
    assert f"{expected_score(SPANISH):.1f}" in rows["longer"]  # as if it had judged alone
    assert " 50.0 " in rows["first"]  # Answer1 in both orders: a tie every time
    assert f"{100 - expected_score(SPANISH):.1f}" in rows["shorter"]
    assert "Fleiss' kappa" in result.output and "Cohen's kappa longer – first" in result.output
    assert set(backends.judge_calls) == set(POLICIES)


def test_a_matrix_with_a_panel_keeps_it_in_its_files(server: str, tmp_path: Path) -> None:
    out = tmp_path / "m"
    args = ["matrix", "--server", server, "--out", str(out), "--rows", "good", "--languages",
            "es", "--baselines", "es=bad"]  # fmt: skip
    result = CliRunner().invoke(app, [*args, *PANEL])
    assert result.exit_code == 0, result.output
    (cell,) = json.loads((out / "matrix.json").read_text("utf-8"))["cells"]
    assert [judge["judge"] for judge in cell["panel"]["judges"]] == list(POLICIES)
    assert cell["panel"]["fleiss_kappa"]["pairs"] > 0
    markdown = (out / "matrix.md").read_text("utf-8")
    assert "## Judge panels" in markdown and "### good vs bad · es" in markdown
    assert "| shorter |" in markdown
    assert "panel" not in (out / "matrix.csv").read_text("utf-8").splitlines()[0]


def test_an_unknown_judge_in_a_panel_is_named_before_any_call(
    server: str, backends: Backends
) -> None:
    result = CliRunner().invoke(app, ["compare", "good", "bad", "-l", "es", "--server", server,
                                      "--judge", "longer", "--judge", "ghost"])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "judge 'ghost' is unknown to the service" in result.output
    assert not backends.judge_calls and not backends.generations
