"""The `sxs` command line. Each command lives in its own module; errors become one line."""

from __future__ import annotations

import typer

from service.cli import consistency as consistency_command
from service.cli import demo as demo_command
from service.cli import generators as generator_commands
from service.cli import judge as judge_commands
from service.cli import matrix as matrix_commands
from service.cli import mixtures as mixture_commands
from service.cli import serve as serve_command
from service.cli import train as train_command
from service.cli import translate as translate_command

app = typer.Typer(
    name="sxs",
    help="Side-by-side evaluation of multilingual instruction following.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("judge")(judge_commands.judge)
app.command("agreement")(judge_commands.agreement)
app.command("generate")(generator_commands.generate)
app.add_typer(generator_commands.generators_app, name="generators")
app.command("serve")(serve_command.serve)
app.add_typer(mixture_commands.mixtures_app, name="mixtures")
app.command("train")(train_command.train)
app.command("translate")(translate_command.translate)
app.command("matrix")(matrix_commands.matrix)
app.command("plot")(matrix_commands.plot)
app.command("compare")(matrix_commands.compare)
app.command("demo")(demo_command.demo)
app.command("consistency")(consistency_command.consistency)
