"""`sxs mixtures build | show` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from service.cli import app
from tests.training.test_mixtures import synthetic


def test_the_cli_builds_a_family_and_shows_a_manifest(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    data = synthetic(120, ("en", "fi", "sw"))
    path.write_text("".join(r.model_dump_json() + "\n" for r in data.records), "utf-8")
    runner = CliRunner()
    built = runner.invoke(
        app,
        [
            "mixtures",
            "build",
            str(path),
            "--out",
            str(tmp_path / "m"),
            "--languages",
            "en,fi,sw",
            "--percent",
            "10",
            "--percent",
            "50",
        ],
    )
    assert built.exit_code == 0, built.output
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["uniform-p10", "uniform-p50"]
    shown = runner.invoke(app, ["mixtures", "show", str(tmp_path / "m" / "uniform-p50")])
    assert "uniform-p50 · 120" in shown.output
    assert '"percent": 50.0' in shown.output
    subsets = runner.invoke(
        app,
        [
            "mixtures",
            "build",
            str(path),
            "--out",
            str(tmp_path / "s"),
            "--family",
            "subsets",
            "--permutation",
            "sw,fi,en",
            "--percent",
            "10",
            "--percent",
            "20",
        ],
    )
    assert subsets.exit_code == 0, subsets.output
    assert len(list((tmp_path / "s").iterdir())) == 3 * 2
    missing = runner.invoke(app, ["mixtures", "build", str(path), "--out", str(tmp_path / "x")])
    assert missing.exit_code == 2
    assert "error: language 'ar' is not in the data (it has: en, fi, sw)" in missing.output
    assert not (tmp_path / "x").exists() or not list((tmp_path / "x").iterdir())


def test_the_cli_builds_crossin_with_translations(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    data = synthetic(60, ("en", "fi", "sw"))
    path.write_text("".join(r.model_dump_json() + "\n" for r in data.records), "utf-8")
    result = CliRunner().invoke(
        app,
        [
            *("mixtures", "build", str(path), "--out", str(tmp_path / "m")),
            *("--family", "crossin-x2x", "--languages", "en,fi,sw", "--percent", "100"),
            *("--translations", "3", "--translation-directions", "both"),
        ],
    )
    assert result.exit_code == 0, result.output
    folder = tmp_path / "m" / "crossin-x2x-p100+tr3"
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert manifest["translations"] == {"en>fi": 3, "en>sw": 3, "fi>en": 3, "sw>en": 3}
    assert sum(manifest["counts"].values()) == 60 and manifest["total"] == 72
    shown = CliRunner().invoke(app, ["mixtures", "show", str(folder)])
    assert "translate en>fi" in shown.output
