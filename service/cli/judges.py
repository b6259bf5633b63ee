"""`sxs judges distill`: a local judge adapter distilled from a teacher's stored verdicts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from common.lists import comma_list
from judges.prompts import PAPER_TEMPLATE, JudgeTemplate
from service.cli.errors import checked
from service.cli.judges_report import report
from service.distill.student import DistillPlan, distill_judge

judges_app = typer.Typer(
    help="Judges: distil a local judge; a judge's report card against labels.",
    no_args_is_help=True,
)
judges_app.command("report")(report)


@judges_app.command("distill")
def distill(
    teacher: Annotated[
        str, typer.Option(help="the judge whose verdicts to learn (its name in the service)")
    ],
    base: Annotated[
        Path, typer.Option(help="the generators' base model folder (the judge is its adapter)")
    ],
    out: Annotated[Path, typer.Option(help="the set, the run and held_out.jsonl go here")],
    db: Annotated[Path, typer.Option(envvar="SXS_DB", help="the service's SQLite store")] = Path(
        ".sxs/sxs.db"
    ),
    name: Annotated[str, typer.Option(help="the judge adapter's name")] = "judge-distilled",
    registry: Annotated[
        Path | None, typer.Option(help="models.toml to register the adapter in")
    ] = None,
    languages: Annotated[
        str | None, typer.Option(help="only pairs in these languages [default: all]")
    ] = None,
    max_pairs: Annotated[
        int | None, typer.Option(min=1, help="train on at most this many pairs (sampled)")
    ] = None,
    held_out: Annotated[
        float, typer.Option(min=0.01, max=0.99, help="share of the items held out")
    ] = 1 / 3,
    balance: Annotated[
        bool, typer.Option(help="as many '1' as '2' answers, so position teaches nothing")
    ] = True,
    steps: Annotated[int, typer.Option(min=1, help="LoRA steps (batch 8)")] = 600,
    learning_rate: Annotated[float, typer.Option(min=1e-7, help="LoRA learning rate")] = 2e-3,
    rank: Annotated[int, typer.Option(min=1, help="LoRA rank")] = 16,
    template: Annotated[
        Path | None, typer.Option(help="the teacher's judge prompt file [default: Figure 9]")
    ] = None,
    seed: Annotated[int, typer.Option(help="split, sampling and training seed")] = 0,
) -> None:
    """Learn a teacher's verdicts (both orders of every pair it judged in the store) into a
    LoRA judge adapter of the base model; hold out a share of the items for evaluation.

    Then serve the adapter with the generators (`sxs generators serve`), judge the held-out
    pairs with it (`sxs judge OUT/held_out.jsonl --backend openai --mode logprobs --api chat
    --model NAME`) and compare (`sxs agreement OUT/held_out.jsonl held_out.judged.jsonl`).
    """
    started = time.monotonic()
    settings = dict(
        store=db,
        teacher=teacher,
        base=base,
        out=out,
        name=name,
        registry=registry,
        languages=comma_list(languages) if languages else None,
        max_pairs=max_pairs,
        held_out_share=held_out,
        balance=balance,
        steps=steps,
        learning_rate=learning_rate,
        rank=rank,
        seed=seed,
    )
    plan = checked(
        lambda: DistillPlan.model_validate(settings), {"name": "--name", "store": "--db"}
    )
    prompt = JudgeTemplate.from_file(template) if template else PAPER_TEMPLATE

    def say(line: str) -> None:
        typer.echo(f"[{time.monotonic() - started:5.0f} s] {line}", err=True)

    judge = distill_judge(plan, prompt, say)
    if not judge.trained:
        typer.echo(f"kept the finished run in {out / 'run'} (same training set)")
    if judge.registered:
        typer.echo(f"registered adapter {judge.name!r} in {registry}")
    typer.echo(f"judge adapter: {judge.adapter} (revision {judge.revision})")
    typer.echo(f"held-out pairs with the teacher's verdicts: {judge.held_out}")
    typer.echo(
        "as a service judge (service.toml):\n"
        f'  [judges.{judge.name}]\n  kind = "openai"\n  base_url = "http://127.0.0.1:PORT/v1"\n'
        f'  model = "{judge.name}"\n  revision = "{judge.revision}"\n'
        '  mode = "logprobs"\n  api = "chat"'
    )
