"""What an IF matrix is made of: rows (models), evaluation languages, a baseline per language.

    IF_L(M) = SxS score of M against the baseline of L (the model tuned monolingually on L),
    both answering the evaluation instructions in L; 50 where M is the baseline itself.

A fixed-reference matrix scores every row against one model in every language instead
(`reference = "base"`: the paper's Figure 10, every tuned model against the un-tuned base; or
AlpacaEval-style, against one reference model).

A recipe is given on the command line or as a TOML file (see `recipes/`):

    title = "§3.1 monolingual 12 × 12"
    languages = ["ar", "cs", …]
    eval_set = "sample"          # optional; the service's default otherwise
    judge = "llm"                # optional; or a panel: judges = ["llm", "other", "third"]
    language_policy = "none"     # optional; default off_language_loses (judges.language_control)
    all_pairs = true             # optional: a round robin, every row against every other row
                                 # in each language (no baselines); Bradley–Terry with CIs
    reference = "base"           # optional: this model is every language's baseline
    [baselines]                  # language → model (not with `reference`)
    ar = "mono-ar"
    [[rows]]                     # or rows = ["mono-ar", …]
    model = "uniform-p10"
    percent = 10                 # for the sweep figures
    seen = ["ar", "es"]          # languages in its training mix (seen vs unseen averages)
    kind = "uniform"             # uniform | monolingual | bilingual | subset | other
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from common.errors import first_problem
from common.languages import LANGUAGE_CODE
from common.lists import comma_list
from common.toml_file import read_toml
from judges.language_control import LanguagePolicy
from service.jobs.requests import ComparisonRequest, Panel


class RecipeError(Exception):
    """A recipe that cannot describe a matrix; the message names the field."""


class RowSpec(BaseModel):
    """A row model and what the figures need to know about its training mixture."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(min_length=1)
    label: str | None = None
    kind: Literal["uniform", "monolingual", "bilingual", "subset", "other"] | None = None
    percent: float | None = Field(default=None, ge=0, le=100)
    seen: list[str] | None = None
    pair: str | None = Field(default=None, description="bilingual: the language beside en")

    @model_validator(mode="before")
    @classmethod
    def _from_the_name(cls, value: Any) -> Any:
        """A bare name is a row; kind / percent / pair come from `sxs mixtures` names when
        not given."""
        row = {"model": value} if isinstance(value, str) else value
        if not isinstance(row, dict) or not isinstance(row.get("model"), str):
            return row
        return guess_from_name(row["model"]) | row

    @property
    def name(self) -> str:
        """How the row is shown."""
        return self.label or self.model


class MatrixRecipe(BaseModel):
    """Rows × evaluation languages, a baseline per language."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = "IF scores"
    rows: list[RowSpec] = Field(min_length=1)
    languages: list[str] = Field(min_length=1)
    baselines: dict[str, str]
    reference: str | None = Field(
        default=None, min_length=1, description="one baseline for every language"
    )
    eval_set: str | None = None
    judge: str | None = None
    judges: Panel | None = Field(
        default=None, description="a panel of judges instead of one (judges.panel)"
    )
    language_policy: LanguagePolicy | None = Field(
        default=None, description="default: the service's (off_language_loses)"
    )
    all_pairs: bool = Field(
        default=False,
        description="a round robin: every row against every other row in each language, "
        "rated by Bradley–Terry with bootstrap CIs; no baselines",
    )

    @model_validator(mode="before")
    @classmethod
    def _reference_everywhere(cls, value: Any) -> Any:
        """`reference` is the baseline of every language; other baselines conflict with it."""
        if not isinstance(value, dict) or not value.get("reference"):
            return value
        reference, given = value["reference"], value.get("baselines") or {}
        others = {lang: model for lang, model in given.items() if model != reference}
        if others:
            language, model = next(iter(others.items()))
            raise ValueError(
                f"reference {reference!r} is every language's baseline, but baselines give "
                f"{language}={model}: give one or the other"
            )
        languages = value.get("languages") or []
        return value | {"baselines": dict.fromkeys(languages, reference)}

    @model_validator(mode="after")
    def _consistent(self) -> MatrixRecipe:
        if self.all_pairs and (self.baselines or self.reference):
            raise ValueError(
                "all_pairs compares the rows with each other: give no baselines or reference"
            )
        if self.judge is not None and self.judges is not None:
            raise ValueError("give judge (one judge) or judges (a panel), not both")
        if self.all_pairs and len(self.rows) < 2:
            raise ValueError("all_pairs needs at least two rows")
        for language in self.languages:
            if not re.fullmatch(LANGUAGE_CODE, language):
                raise ValueError(f"{language!r} is not a language code (e.g. fi, zh)")
            if language not in self.baselines and not self.all_pairs:
                raise ValueError(
                    f"language {language!r} has no baseline: add {language}=MODEL to the "
                    "baselines (the model tuned on that language)"
                )
        models = [row.model for row in self.rows]
        if len(set(models)) != len(models):
            twice = sorted({m for m in models if models.count(m) > 1})
            raise ValueError(f"row {twice[0]!r} is given twice")
        return self

    def row(self, model: str) -> RowSpec:
        """The row of `model`."""
        return next(row for row in self.rows if row.model == model)

    def comparisons(self) -> list[tuple[str, str, str]]:
        """(row, baseline, language) of every cell that needs a comparison, in table order:
        each row against the language's baseline, or (`all_pairs`) each row against every
        later row."""
        if self.all_pairs:
            models = [row.model for row in self.rows]
            return [(a, b, language) for language in self.languages
                    for index, a in enumerate(models) for b in models[index + 1:]]  # fmt: skip
        return [(row.model, self.baselines[language], language)
                for row in self.rows for language in self.languages]  # fmt: skip

    def comparison_body(self, row: str, baseline: str, language: str) -> dict[str, Any]:
        """The comparison request of one cell: `row` as A against `baseline` in `language`,
        with the recipe's eval set, judge or panel and language policy (the service's defaults
        where the recipe names none), as `sxs matrix` sends it and `sxs batch` keys it."""
        body: dict[str, Any] = {"model_a": row, "model_b": baseline, "language": language}
        if self.eval_set is not None:
            body["eval_set"] = self.eval_set
        if self.judge is not None:
            body["judge"] = self.judge
        if self.judges is not None:
            body["judges"] = self.judges
        if self.language_policy is not None:
            body["language_policy"] = self.language_policy.value
        return body

    def cell_requests(self) -> list[ComparisonRequest]:
        """The comparison request of every cell that needs one (the diagonal needs none)."""
        return [
            ComparisonRequest.model_validate(self.comparison_body(row, baseline, language))
            for row, baseline, language in self.comparisons()
            if row != baseline
        ]

    def models(self) -> list[str]:
        """Every model the matrix needs: rows, then baselines that are not rows."""
        names = [row.model for row in self.rows]
        return names + [m for m in dict.fromkeys(self.baselines.values()) if m not in names]


def guess_from_name(name: str) -> dict[str, Any]:
    """kind, percent or pair of a model named like an `sxs mixtures` mixture."""
    if match := re.fullmatch(r"uniform-p(\d+(?:\.\d+)?)", name):
        return {"kind": "uniform", "percent": float(match[1])}
    if match := re.fullmatch(r"subset-.*-n\d+-p(\d+(?:\.\d+)?)", name):
        return {"kind": "subset", "percent": float(match[1])}
    if match := re.fullmatch(r"bi-en-([a-z]{2,3})", name):
        return {"kind": "bilingual", "pair": match[1]}
    if re.fullmatch(r"mono-[a-z]{2,3}", name):
        return {"kind": "monolingual"}
    return {}


def load_recipe(path: Path) -> MatrixRecipe:
    """A recipe TOML file, validated; errors name the file and the field."""
    return validate_recipe(read_toml(path, "the recipe", RecipeError), str(path))


def save_recipe(recipe: MatrixRecipe, path: Path) -> None:
    """Write `recipe` as a TOML file `load_recipe` reads back (and `sxs matrix --recipe`)."""
    import tomlkit

    from common.files import write_text_atomically

    write_text_atomically(path, tomlkit.dumps(recipe.model_dump(mode="json", exclude_none=True)))


def validate_recipe(data: dict[str, Any], source: str) -> MatrixRecipe:
    """A recipe from plain data; errors name `source` and the field."""
    try:
        return MatrixRecipe.model_validate(data)
    except ValidationError as error:
        where, what = first_problem(error, "recipe")
        raise RecipeError(f"{source}: {where}: {what}") from None


def parse_baselines(text: str) -> dict[str, str]:
    """`es=mono-es,fi=mono-fi` as a dict; errors say what a pair must look like."""
    pairs: dict[str, str] = {}
    for part in comma_list(text):
        language, sep, model = part.partition("=")
        if not sep or not language.strip() or not model.strip():
            raise RecipeError(f"--baselines: {part!r} is not LANG=MODEL")
        pairs[language.strip()] = model.strip()
    return pairs
