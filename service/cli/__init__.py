"""The `sxs` command line: one thin module per command (or command group), every command
registered here through the one error table of `service.cli.errors`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from service.cli import (
    agreement,
    base,
    batch,
    compare,
    consistency,
    demo,
    generate,
    generators,
    judge,
    judges,
    matrix,
    mixtures,
    plot,
    serve,
    train,
    translate,
    up,
)
from service.cli.console import quiet_third_parties
from service.cli.errors import command_errors

app = typer.Typer(
    name="sxs",
    help="Side-by-side evaluation of multilingual instruction following.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main(
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", help="show the progress bars and warnings of transformers, peft, torch"
        ),
    ] = False,
) -> None:
    """Side-by-side evaluation of multilingual instruction following."""
    if not verbose:
        quiet_third_parties()


# in the order `sxs --help` lists them; a typer.Typer is a group of subcommands
COMMANDS: list[tuple[str, Callable[..., Any] | typer.Typer]] = [
    ("judge", judge.judge),
    ("agreement", agreement.agreement),
    ("judges", judges.judges_app),
    ("generate", generate.generate),
    ("generators", generators.generators_app),
    ("serve", serve.serve),
    ("base", base.base_app),
    ("mixtures", mixtures.mixtures_app),
    ("train", train.train),
    ("translate", translate.translate),
    ("matrix", matrix.matrix),
    ("batch", batch.batch),
    ("plot", plot.plot),
    ("compare", compare.compare),
    ("demo", demo.demo),
    ("up", up.up),
    ("consistency", consistency.consistency),
]

for name, command in COMMANDS:
    if isinstance(command, typer.Typer):
        for info in command.registered_commands:
            if info.callback is not None:
                info.callback = command_errors(info.callback)
        app.add_typer(command, name=name)
    else:
        app.command(name)(command_errors(command))
