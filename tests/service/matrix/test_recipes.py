"""The paper's recipe files parse, and name the models `sxs mixtures build` makes."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.matrix.recipe import RecipeError, load_recipe, parse_baselines, validate_recipe
from tests.training.test_mixtures import synthetic
from training.families import Family, family_mixtures
from training.languages import MAIN, P_SWEEP, SLAVIC, TABLE4_PERMUTATIONS

RECIPES = sorted(Path("recipes").glob("*.toml"))


def test_every_paper_recipe_is_there_and_valid() -> None:
    assert [path.name for path in RECIPES] == [
        "paper-3.1-monolingual.toml",
        "paper-3.2-sweep-12.toml",
        "paper-3.3-sweep-6.toml",
        "paper-3.4-permutations.toml",
        "paper-4.1-slavic.toml",
        "paper-bilingual.toml",
    ]
    for path in RECIPES:
        recipe = load_recipe(path)
        assert set(recipe.baselines) == set(recipe.languages), path


def test_recipe_rows_are_the_names_of_the_built_mixtures() -> None:
    data = synthetic(100, (*MAIN, *SLAVIC))

    def names(family: Family, languages: tuple[str, ...], percents: list[float]) -> set[str]:
        built = family_mixtures(data, family, languages, percents, list(TABLE4_PERMUTATIONS), 0)
        return {mixture.name for mixture in built}

    sweep = load_recipe(Path("recipes/paper-3.2-sweep-12.toml"))
    assert {row.model for row in sweep.rows} - {"mono-en"} == names(
        Family.SWEEP, MAIN, [float(p) for p in P_SWEEP]
    )
    assert [row.percent for row in sweep.rows] == [0, *P_SWEEP]
    mono = load_recipe(Path("recipes/paper-3.1-monolingual.toml"))
    assert {row.model for row in mono.rows} == names(Family.MONOLINGUAL, MAIN, [])
    subsets = load_recipe(Path("recipes/paper-3.4-permutations.toml"))
    assert {row.model for row in subsets.rows} == names(Family.SUBSETS, MAIN, [1.0])
    bilingual = load_recipe(Path("recipes/paper-bilingual.toml"))
    assert {row.model for row in bilingual.rows} == names(Family.BILINGUAL, MAIN, [])
    assert all(row.kind == "bilingual" and row.pair for row in bilingual.rows)


def test_recipe_errors_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="language 'fi' has no baseline"):
        validate_recipe({"rows": ["a"], "languages": ["fi"], "baselines": {}}, "x")
    with pytest.raises(RecipeError, match="row 'a' is given twice"):
        validate_recipe({"rows": ["a", "a"], "languages": ["fi"], "baselines": {"fi": "a"}}, "x")
    with pytest.raises(RecipeError, match="'Finnish' is not a language code"):
        validate_recipe({"rows": ["a"], "languages": ["Finnish"], "baselines": {}}, "x")
    with pytest.raises(RecipeError, match="--baselines: 'fi' is not LANG=MODEL"):
        parse_baselines("es=a,fi")
    bad = tmp_path / "bad.toml"
    bad.write_text('rows = ["a"]\nlanguages = ["fi"]\n[baselines]\nfi = 3\n', "utf-8")
    with pytest.raises(
        RecipeError, match=r"bad.toml: baselines.fi: Input should be a valid string"
    ):
        load_recipe(bad)


def test_a_reference_is_every_languages_baseline() -> None:
    recipe = validate_recipe(
        {"rows": ["mono-es", "uniform-p10"], "languages": ["es", "fi"], "reference": "base"},
        "x",
    )
    assert recipe.baselines == {"es": "base", "fi": "base"}
    assert recipe.models() == ["mono-es", "uniform-p10", "base"]
    again = validate_recipe(recipe.model_dump(), "matrix.json")  # as saved in matrix.json
    assert again == recipe
    with pytest.raises(RecipeError, match="give one or the other"):
        validate_recipe(
            {"rows": ["a"], "languages": ["fi"], "reference": "base", "baselines": {"fi": "b"}},
            "x",
        )
