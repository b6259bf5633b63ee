"""`sxs mixtures build | show`: families of language mixtures of a parallel set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from common.lists import comma_list
from service.cli.console import print_table
from service.cli.errors import UsageError
from training.families import Family, family_mixtures, translation_directions
from training.languages import MAIN, P_SWEEP, TABLE4_PERMUTATIONS
from training.mixtures import with_translations, write_mixture
from training.parallel import load_parallel

mixtures_app = typer.Typer(
    help="Language mixtures of a parallel set (§3.2–3.4).", no_args_is_help=True
)


@mixtures_app.command("build")
def build(
    source: Annotated[
        str,
        typer.Argument(
            help="parallel set: JSONL or Parquet {id, instruction, response}, or hf:NAME[:SPLIT]"
        ),
    ],
    out: Annotated[Path, typer.Option(help="folder for <name>/mixture.jsonl + manifest.json")],
    family: Annotated[Family, typer.Option(help="which mixtures")] = Family.SWEEP,
    languages: Annotated[
        str | None, typer.Option(help="comma-separated codes [default: the 12 of the paper]")
    ] = None,
    percent: Annotated[
        list[float] | None,
        typer.Option(help="P values in percent [default: 1 10 20 … 100; subsets: 1]"),
    ] = None,
    permutation: Annotated[
        list[str] | None,
        typer.Option(help="subsets: comma-separated orders [default: the three of Table 4]"),
    ] = None,
    translations: Annotated[
        int, typer.Option(min=0, help="translation demonstrations per direction, added to each")
    ] = 0,
    translation_directions_text: Annotated[
        str,
        typer.Option(
            "--translation-directions",
            help="en2x, x2en, both (over --languages) or e.g. 'en>fi,fi>en'",
        ),
    ] = "en2x",
    seed: Annotated[int, typer.Option(help="for the extras and the assignment")] = 0,
) -> None:
    """Build a whole family (e.g. the 11-point P sweep) in one command."""
    data = load_parallel(source)
    codes = tuple(comma_list(languages)) or MAIN
    default_percents = [1.0] if family is Family.SUBSETS else [float(p) for p in P_SWEEP]
    orders: list[tuple[str, ...]] = (
        [tuple(comma_list(p)) for p in permutation] if permutation else list(TABLE4_PERMUTATIONS)
    )
    mixtures = family_mixtures(data, family, codes, percent or default_percents, orders, seed)
    directions = translation_directions(translation_directions_text, codes)
    mixtures = [with_translations(data, m, directions, translations) for m in mixtures]
    for mixture in mixtures:
        write_mixture(data, mixture, out, source, seed)
    columns = sorted({language for mixture in mixtures for language in mixture.counts})
    rows = [
        [
            mixture.name,
            str(sum(mixture.counts.values())),
            str(sum(mixture.translations.values())),
            *(str(mixture.counts.get(language, "")) for language in columns),
        ]
        for mixture in mixtures
    ]
    print_table(["mixture", "examples", "translations", *columns], rows, title="examples")
    typer.echo(f"{len(mixtures)} mixtures in {out}")


@mixtures_app.command("show")
def show(
    folder: Annotated[Path, typer.Argument(help="a mixture folder (with manifest.json)")],
) -> None:
    """Print a mixture's manifest: its recipe and examples per language."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UsageError(f"{folder}: no readable manifest.json ({error})") from None
    table = Table(
        "language", "examples", "share", title=f"{manifest['name']} · {manifest['total']}"
    )
    for language, count in manifest["counts"].items():
        table.add_row(language, str(count), f"{100 * count / manifest['total']:.2f}%")
    for direction, count in manifest.get("translations", {}).items():
        share = f"{100 * count / manifest['total']:.2f}%"
        table.add_row(f"translate {direction}", str(count), share)
    Console().print(table)
    typer.echo(f"recipe: {json.dumps(manifest['recipe'])}")
    typer.echo(f"source: {manifest['source']}")
