"""`sxs matrix --all-pairs`: a round robin through a real `sxs serve`, Bradley–Terry ratings
with bootstrap CIs that recover the scripted models' order."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.matrix.results import load_results
from tests.service.fakes import QUALITY, expected_outcome
from tests.service.live import instructions, loopback_backends, running_service

POINTS = {"win": 1.0, "tie": 0.5, "loss": 0.0}


def test_a_round_robin_recovers_the_known_order(tmp_path: Path) -> None:
    with (
        loopback_backends(tmp_path, tuple(QUALITY), judge_delay_s=0.01) as backends,
        running_service(backends) as server,
    ):
        out = tmp_path / "round-robin"
        rows = ",".join(reversed(QUALITY))  # the order given says nothing of the ranking
        args = ["matrix", "--server", server, "--out", str(out)]
        result = CliRunner().invoke(
            app, [*args, "--rows", rows, "--languages", "es,fi", "--all-pairs"]
        )
        assert result.exit_code == 0, result.output
        judged = sum(backends.log.judged.values())
        again = CliRunner().invoke(
            app, [*args, "--rows", rows, "--languages", "es,fi", "--all-pairs"]
        )
        assert again.exit_code == 0 and sum(backends.log.judged.values()) == judged

    results = load_results(out / "matrix.json")
    assert len(results.cells) == 2 * 6  # every pair of four models, in each language
    for cell in results.cells:
        outcomes = [
            expected_outcome(t, cell.row, cell.baseline) for t in instructions(cell.language)
        ]
        assert cell.score == pytest.approx(100 * sum(POINTS[o] for o in outcomes) / len(outcomes))
    assert {(c.row, c.baseline) for c in results.cells if c.language == "es"} == set(
        combinations(reversed(QUALITY), 2)
    )
    ratings = (out / "ratings.md").read_text("utf-8")
    for language in ("es", "fi"):
        section = ratings.split(f"## {language}")[1].split("##")[0]
        table = [line.split("|") for line in section.splitlines() if line.startswith("| ")][1:]
        ranked = [row[2].strip() for row in table]
        assert ranked == list(reversed(QUALITY)), section
        low = {row[2].strip(): row[4].strip() for row in table}
        best_low = float(low["q4"].strip("[]").split(",")[0])
        worst_high = float(low["q1"].strip("[]").split(",")[1])
        assert best_low > worst_high  # the best and the worst are told apart
    assert "| q4 |" in (out / "matrix.md").read_text("utf-8")
    assert not (out / "scores.csv").exists()


def test_all_pairs_takes_no_baselines() -> None:
    result = CliRunner().invoke(
        app,
        ["matrix", "--out", "x", "--rows", "q1,q2", "--languages", "es", "--all-pairs",
         "--baselines", "es=q1"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "all_pairs compares the rows with each other" in result.output


def scored(results_rows: str, failed: set[str], wins: dict[tuple[str, str], int]) -> Any:
    """A round robin in one language over `results_rows`; cells with a `failed` model have no
    score; `wins` gives the row's wins of 10 items in the others."""
    from service.matrix.recipe import MatrixRecipe
    from service.matrix.results import Cell, MatrixResults

    rows = list(results_rows)
    recipe = MatrixRecipe.model_validate(
        {"rows": rows, "languages": ["es"], "baselines": {}, "all_pairs": True}
    )
    cells = []
    for row, opponent in combinations(rows, 2):
        if failed & {row, opponent}:
            cells.append(Cell(row=row, language="es", baseline=opponent, error="judge down"))
            continue
        won = wins[(row, opponent)]
        cells.append(Cell(row=row, language="es", baseline=opponent, score=10.0 * won,
                          wins=won, losses=10 - won))  # fmt: skip
    return MatrixResults(recipe=recipe, cells=cells)


def test_a_model_whose_every_cell_failed_gets_no_rating() -> None:
    """The probe: four rows, every cell of one failed. It was ranked 2nd, +30 [+5, +96]."""
    from service.reports.ratings import round_robin_markdown, round_robin_ratings

    wins = {("a", "b"): 8, ("a", "c"): 9, ("b", "c"): 7}
    ratings = round_robin_ratings(scored("abcd", {"d"}, wins), samples=50)["es"]
    assert list(ratings) == ["a", "b", "c", "d"]
    assert ratings["d"].rating is None and "no scored comparison in es" in (ratings["d"].note or "")
    assert all(ratings[m].rating is not None for m in "abc")
    assert "| — | d | — | no rating: no scored comparison in es" in round_robin_markdown(
        {"es": ratings}
    )


def test_a_model_compared_with_few_others_is_rated_with_a_note() -> None:
    from service.reports.ratings import round_robin_ratings

    wins = {("a", "b"): 8, ("a", "c"): 9, ("b", "c"): 7, ("a", "d"): 5}
    results = scored("abcd", set(), wins | {("b", "d"): 0, ("c", "d"): 0})
    cells = [c for c in results.cells if not (c.baseline == "d" and c.row in "bc")]
    results = results.model_copy(update={"cells": cells})
    ratings = round_robin_ratings(results, samples=50)["es"]
    assert ratings["d"].rating is not None
    assert ratings["d"].note == "compared with 1 of the 3 other rated models"
    assert ratings["a"].note is None
