"""Tables, figures and ratings drawn from fixed results; the paper's Figure 1 reproduced."""

from __future__ import annotations

import csv
import os
import stat
import struct
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from judges.response_language import detectable, in_language, language_of, off_language_share
from service.cli import app
from service.matrix.recipe import MatrixRecipe
from service.matrix.results import Cell, MatrixResults, load_results, save_results
from service.reports.figures import sweep_series
from service.reports.ratings import ELO_PER_UNIT, bradley_terry
from service.reports.render import render

LANGUAGES = ["en", "es", "fi", "zh"]
BASELINES = {lang: f"mono-{lang}" for lang in LANGUAGES}


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return int(width), int(height)


def readable_heatmap(path: Path, columns: int, rows: int) -> None:
    """What a reader needs of a heatmap, whatever the layout code: a PNG that shows something
    (not one flat colour), with room for a two-digit label in every cell (at least 0.6 × 0.4
    inches at 120 dpi) and no more than a margin beyond that (at most 1 × 1 inch per cell
    plus 3 inches)."""
    import matplotlib.image

    width, height = png_size(path)
    assert 72 * columns <= width <= 120 * (columns + 3), (width, columns)
    assert 48 * rows <= height <= 120 * (rows + 3), (height, rows)
    pixels = matplotlib.image.imread(str(path))
    assert pixels.std() > 0.05  # drawn, not blank


def fixed_results() -> MatrixResults:
    """A sweep (P = 0, 50, 100 with seen languages), two bilingual rows, the baselines."""
    rows: list[object] = [f"mono-{lang}" for lang in LANGUAGES]
    rows += [{"model": f"uniform-p{p}", "seen": ["en", "es"]} for p in (0, 50, 100)]
    rows += ["bi-en-es", "bi-en-fi"]
    recipe = MatrixRecipe.model_validate(
        {"title": "fixed", "rows": rows, "languages": LANGUAGES, "baselines": BASELINES}
    )
    cells = []
    for index, row in enumerate(recipe.rows):
        for column, language in enumerate(LANGUAGES):
            diagonal = BASELINES[language] == row.model
            score = 50.0 if diagonal else 20.0 + 3 * index + column
            cells.append(
                Cell(row=row.model, language=language, baseline=BASELINES[language],
                     diagonal=diagonal, score=score, wins=index + 1, losses=2, ties=1)
            )  # fmt: skip
    return MatrixResults(recipe=recipe, cells=cells)


def test_tables_and_figures_from_a_fixed_results_file(tmp_path: Path) -> None:
    results = fixed_results()
    previous = os.umask(0o027)  # files for the user's group too, nothing for others
    try:
        save_results(results, tmp_path / "given")
        result = CliRunner().invoke(app, ["plot", str(tmp_path / "given" / "matrix.json"),
                                          "--out", str(tmp_path / "drawn")])  # fmt: skip
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    drawn = tmp_path / "drawn"
    written = sorted(tmp_path.glob("*/*"))
    assert {path.name for path in written} >= {"matrix.json", "heatmap.png", "scores.csv"}
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in written} == {
        path.name: 0o640 for path in written
    }
    readable_heatmap(drawn / "heatmap.png", columns=5, rows=9)  # 4 languages + avg, 9 rows
    assert png_size(drawn / "sweep.png") == (720, 480)
    assert png_size(drawn / "bilingual.png")[1] == 480
    table = list(csv.DictReader((drawn / "scores.csv").open(encoding="utf-8")))
    assert [row["row"] for row in table] == [r.model for r in results.recipe.rows]
    p50 = next(row for row in table if row["row"] == "uniform-p50")
    assert [p50[lang] for lang in LANGUAGES] == ["35.0", "36.0", "37.0", "38.0"]  # 20 + 3·5 + c
    assert p50["avg"] == "36.5"
    assert "| uniform-p50 | 35.0 | 36.0 | 37.0 | 38.0 | **36.5** |" in result.output


def test_sweep_series_split_english_seen_and_unseen() -> None:
    series = sweep_series(fixed_results())
    assert series["English"] == [(0.0, 32.0), (50.0, 35.0), (100.0, 38.0)]
    percent, average = series["non-English average"][1]
    assert percent == 50.0 and average == pytest.approx((36 + 37 + 38) / 3)
    assert series["seen (non-English)"][1] == (50.0, 36.0)  # es only
    assert series["unseen"][1] == (50.0, 37.5)  # fi, zh


def test_the_papers_figure_1_reproduces_its_average_column(
    tmp_path: Path, shared_data: Path
) -> None:
    source = shared_data / "paper" / "figure1_if_scores.csv"
    result = CliRunner().invoke(app, ["plot", str(source), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    paper = {row["train_language"]: row for row in csv.DictReader(source.open(encoding="utf-8"))}
    results = load_results(source)
    for language, row in paper.items():
        average = results.average(language)
        assert average is not None and f"{average:.1f}" == row["avg"], language
        cell = results.cell(language, language)
        assert cell is not None and cell.diagonal
    readable_heatmap(tmp_path / "heatmap.png", columns=13, rows=12)  # 12 languages + avg


def test_bradley_terry_against_hand_computed_values() -> None:
    recipe = MatrixRecipe.model_validate(
        {"rows": ["a", "b", "c", "base"], "languages": ["es"], "baselines": {"es": "base"}}
    )
    cells = [
        Cell(row="a", language="es", baseline="base", score=75.0, wins=3, losses=1),
        Cell(row="b", language="es", baseline="base", score=50.0, wins=1, ties=2, losses=1),
        Cell(row="c", language="es", baseline="base", score=200 / 3, wins=1, ties=2),
        Cell(row="base", language="es", baseline="base", diagonal=True, score=50.0),
    ]
    ratings = bradley_terry(MatrixResults(recipe=recipe, cells=cells), alpha=1e-9)["es"]
    # a beat base 3 times out of 4: strength ratio 3, i.e. 400·log10(3) ≈ 190.8 Elo points
    assert ratings["a"] == pytest.approx(ELO_PER_UNIT * 1.0986, abs=1.0)
    assert ratings["b"] == pytest.approx(0.0, abs=1.0)  # even with its baseline
    # c: 1 win and 2 ties, a tie half a win each way: (1 + 1) / (0 + 1) = 2, ln 2 = 0.6931
    # (a tie entered as a full win each way would give (1 + 2) / 2, ln 1.5 = 0.4055)
    assert ratings["c"] == pytest.approx(ELO_PER_UNIT * 0.6931, abs=1.0)
    assert ratings["base"] == 0.0


def test_response_language_check() -> None:
    candidates = ["en", "es", "fi", "zh"]
    assert language_of("Hyvää huomenta, mitä sinulle kuuluu tänään?", candidates) == "fi"
    assert language_of("今天天气很好，我们去公园散步吧。", candidates) == "zh"
    assert language_of("1234 !!", candidates) is None
    texts = ["La capital de Francia es París.", "The capital of France is Paris.", "42"]
    assert off_language_share(texts, "es", candidates) == pytest.approx(200 / 3)
    assert off_language_share([], "es", candidates) is None


def test_bad_results_files(tmp_path: Path) -> None:
    broken = tmp_path / "scores.csv"
    broken.write_text("train_language,es,fi\nes,50.0,x\n", "utf-8")
    result = CliRunner().invoke(app, ["plot", str(broken)])
    assert result.exit_code == 2
    assert "scores.csv:2: fi: 'x' is not a number" in result.output
    result = CliRunner().invoke(app, ["plot", str(tmp_path / "none.json")])
    assert result.exit_code == 2 and "cannot read" in result.output


def test_a_figure_is_written_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.figure import Figure

    from service.reports.figures import heatmap

    path = heatmap(fixed_results(), tmp_path / "heatmap.png")
    before = path.read_bytes()

    def dies_half_way(self: Figure, target: Any, **options: Any) -> None:
        target.write(b"\x89PNG half a picture")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", dies_half_way)
    with pytest.raises(OSError, match="disk full"):
        heatmap(fixed_results(), path)
    assert path.read_bytes() == before  # a reader still sees the whole earlier figure
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heatmap.png"]  # no temporary left


def test_matrix_md_names_the_cells_to_read_with_care(tmp_path: Path) -> None:
    results = fixed_results()
    flagged: dict[tuple[str, str], dict[str, Any]] = {
        ("bi-en-es", "fi"): {"invalid": 3, "pairs": 12},
        ("bi-en-fi", "zh"): {"off_language": 25.0},
    }
    cells = [
        cell.model_copy(update=flagged.get((cell.row, cell.language), {"off_language": 5.0}))
        for cell in results.cells
    ]
    render(MatrixResults(recipe=results.recipe, cells=cells), tmp_path)
    text = (tmp_path / "matrix.md").read_text("utf-8")
    notes = text.split("Cells to read with care", 1)[1].splitlines()
    rows = [line for line in notes if line.startswith("| bi-")]
    assert rows == [
        "| bi-en-es | fi | 3 of 12 |  |  |  |",
        "| bi-en-fi | zh | 0 of 0 | 25% |  |  |",
    ]
    clean = fixed_results()
    render(clean, tmp_path / "clean")
    assert "read with care" not in (tmp_path / "clean" / "matrix.md").read_text("utf-8")


def test_subtagged_codes_are_detected_by_their_primary_subtag() -> None:
    """zh-Hans is zh, pt-BR is pt: the candidates keep their codes, the check works."""
    chinese, portuguese = (
        "今天天气很好，我们去公园散步吧。",
        "Eu gosto muito de ler livros à noite.",
    )
    candidates = ["zh-Hans", "pt-BR", "es"]
    assert language_of(chinese, candidates) == "zh-Hans"
    assert language_of(portuguese, candidates) == "pt-BR"
    assert in_language(chinese, "zh-Hans", candidates) is True
    assert in_language(portuguese, "zh-Hans", candidates) is False
    assert off_language_share([chinese, chinese], "zh-Hans", candidates) == 0.0


def test_a_language_the_identifier_cannot_tell_is_not_checked() -> None:
    assert not detectable("tlh")  # Klingon: a valid code py3langid does not know
    assert in_language("nuqneH", "tlh", ["tlh", "en"]) is None  # never off-language
    assert off_language_share(["nuqneH"], "tlh", ["tlh"]) is None
