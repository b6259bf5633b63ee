"""Options several commands share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from common.lists import comma_list
from judges.language_control import LanguagePolicy
from judges.usage import JudgePrices
from service.cli.errors import UsageError
from service.matrix.recipe import (
    MatrixRecipe,
    RecipeError,
    load_recipe,
    parse_baselines,
    validate_recipe,
)
from service.matrix.results import ScoreKind

RegistryOption = Annotated[
    Path, typer.Option("--registry", "-r", envvar="SXS_REGISTRY", help="the models.toml")
]
ServerOption = Annotated[
    str, typer.Option(envvar="SXS_SERVER", help="the comparison service (sxs serve)")
]
TokenOption = Annotated[str | None, typer.Option(envvar="SXS_TOKEN", help="its bearer token")]
LanguagePolicyOption = Annotated[
    LanguagePolicy | None,
    typer.Option(
        help="off_language_loses: a response not in the prompt's language loses its pair in "
        "the language-controlled score; none: no language check [default: the service's, "
        "off_language_loses]"
    ),
]
JudgeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--judge",
        help="a configured judge [default: the service's]; repeat it for a panel, whose "
        "majority decides each order",
    ),
]
PromptPriceOption = Annotated[
    float | None, typer.Option(min=0, help="the judge's price of a million prompt tokens")
]
CompletionPriceOption = Annotated[
    float | None, typer.Option(min=0, help="the judge's price of a million completion tokens")
]


def prices_option(prompt: float | None, completion: float | None) -> JudgePrices | None:
    """The judge prices --prompt-price and --completion-price give (both, or neither)."""
    if (prompt is None) != (completion is None):
        raise UsageError("give both --prompt-price and --completion-price, or neither")
    if prompt is None or completion is None:
        return None
    return JudgePrices(prompt_per_million=prompt, completion_per_million=completion)


PlanOption = Annotated[
    bool,
    typer.Option(
        "--plan",
        help="only say what the run would do (generations and judge calls needed and stored, "
        "tokens, price, time): no job, no model or judge call",
    ),
]
PlanJsonOption = Annotated[bool, typer.Option("--json", help="with --plan: the plan as JSON")]
HeatmapOption = Annotated[
    list[ScoreKind],
    typer.Option(
        "--heatmap",
        help="a heatmap of this score (raw, length_controlled, language_controlled); repeat "
        "it for several",
    ),
]


def matrix_recipe(
    recipe_file: Path | None,
    rows: str | None,
    languages: str | None,
    baselines: str | None,
    eval_set: str | None,
    judges: list[str] | None,
    reference: str | None = None,
    language_policy: LanguagePolicy | None = None,
    all_pairs: bool = False,
) -> MatrixRecipe:
    """The recipe file, with any command-line option overriding its field (`reference`
    replaces the file's baselines)."""
    data = load_recipe(recipe_file).model_dump(exclude_none=True) if recipe_file else {}
    if reference:
        data = {k: v for k, v in data.items() if k != "baselines"} | {"reference": reference}
    if rows:
        data["rows"] = comma_list(rows)
    if languages:
        data["languages"] = comma_list(languages)
    if baselines:
        data["baselines"] = data.get("baselines", {}) | parse_baselines(baselines)
    given = {"eval_set": eval_set, "language_policy": language_policy}
    data |= {k: v for k, v in given.items() if v}
    if judges:
        data = {k: v for k, v in data.items() if k not in ("judge", "judges")}
        data |= judge_fields(judges)
    if all_pairs:
        data["all_pairs"] = True
    for needed, option in (("rows", "--rows"), ("languages", "--languages")):
        if not data.get(needed):
            raise RecipeError(f"{option} (or a --recipe file) is required")
    data.setdefault("baselines", {})
    return validate_recipe(data, str(recipe_file or "the options"))


def judge_fields(judges: list[str] | None) -> dict[str, str | list[str]]:
    """The recipe's judge fields for `--judge` given `judges` times: none, one judge, or a
    panel."""
    if not judges:
        return {}
    return {"judge": judges[0]} if len(judges) == 1 else {"judges": judges}
