"""`sxs demo`: the whole pipeline on the CPU default, into one output folder."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from common.lists import comma_list
from generators.registry import load_registry
from generators.server import sync_adapters
from judges.backends.factory import build_judge
from judges.backends.openai import OpenAIJudgeConfig
from judges.cache import JudgmentCache
from judges.prompts import PAPER_TEMPLATE
from judges.report_card import ReportCard
from service.cli.console import percent, print_matrix, sigterm_as_interrupt
from service.cli.errors import CommandFailedError
from service.demo import (
    BASES,
    HELD_OUT_SET,
    JUDGE_NOTE,
    DemoBase,
    DemoPlan,
    distill_plan,
    prepare_models,
    recipe_for,
    student_note,
    write_eval_set,
    write_held_out_set,
)
from service.demo_serving import comparison_service, generator_engine, student_config
from service.distill.evaluation import judge_held_out
from service.distill.student import DistilledJudge, distill_judge
from service.matrix.client import MatrixClient
from service.matrix.recipe import MatrixRecipe, save_recipe
from service.matrix.results import NO_VALID_JUDGMENT, Cell, MatrixResults
from service.reports.demo_summary import in_language_markdown, in_language_shares, own_language_wins
from service.reports.judge_card import card_markdown, render_card
from service.reports.render import render


def demo(
    out: Annotated[Path, typer.Option(help="everything the demo makes goes here")] = Path(
        "out/demo"
    ),
    base: Annotated[
        DemoBase,
        typer.Option(help="gemma: Gemma 3 270M (the `gemma` extra); tiny: a random tiny Llama"),
    ] = DemoBase.GEMMA,
    languages: Annotated[
        str, typer.Option(help="languages of the parallel set to use")
    ] = "en,es,fi,hi,ru,zh",
    steps: Annotated[
        int | None, typer.Option(min=1, help="LoRA steps per adapter [default: per base]")
    ] = None,
    items: Annotated[
        int | None, typer.Option(min=1, help="eval items per language [default: all]")
    ] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="per generated response")] = 48,
    judge_steps: Annotated[
        int | None, typer.Option(min=1, help="the distilled judge's LoRA steps [default: per base]")
    ] = None,
    vllm_python: Annotated[
        str | None, typer.Option(help="[default: $SXS_VLLM_PYTHON, ./.venv-vllm]")
    ] = None,
) -> None:
    """Mixtures → LoRA adapters → vLLM → the comparison service → the IF matrix, on CPU;
    then a judge distilled from the reference judge's verdicts, served by the same engine,
    judges the matrix again on the items it never trained on.

    A second run reuses every model, generation and judgment it finds in OUT.
    """
    started = time.monotonic()
    spec = BASES[base]
    plan = DemoPlan(
        out=out,
        base=base,
        languages=tuple(comma_list(languages)),
        steps=steps or spec.steps,
        learning_rate=spec.learning_rate,
        items=items,
        max_tokens=max_tokens,
        judge_steps=judge_steps or spec.judge_steps,
        judge_learning_rate=spec.judge_learning_rate,
        vllm_python=vllm_python,
    )

    def say(line: str) -> None:
        typer.echo(f"[{time.monotonic() - started:5.0f} s] {line}", err=True)

    say(f"base model: {spec.description}")
    registry, mixtures = prepare_models(plan, say)
    recipe = recipe_for(plan, mixtures)
    save_recipe(recipe, out / "recipe.toml")
    write_eval_set(plan)
    with sigterm_as_interrupt(), generator_engine(plan, registry, say) as engine:
        with comparison_service(plan, registry) as url:  # the teacher's verdicts first
            say(f"the comparison service listens at {url}")
            (results,) = asyncio.run(_matrices(url, [recipe], say))
        student = distill_judge(distill_plan(plan), PAPER_TEMPLATE, say)  # the engine idles
        if sync_adapters(load_registry(registry), engine):
            say(f"the running engine loaded the judge adapter {student.name!r}")
        write_held_out_set(plan, student.split.held_out_items)
        student_recipe = recipe_for(plan, mixtures, judge="distilled", eval_set=HELD_OUT_SET)
        config = student_config(registry, student.revision)
        with comparison_service(plan, registry, student=config) as url:
            say(f"the comparison service listens at {url} with the distilled judge")
            (student_results,) = asyncio.run(_matrices(url, [student_recipe], say))
            held_out = asyncio.run(_held_out(config, plan, student.held_out))
    written = render(results, out / "matrix")
    render(student_results, out / "matrix-distilled")
    print_matrix(results)
    typer.echo(JUDGE_NOTE)
    _print_wins(results)
    typer.echo("share of responses in the instruction's language, percent (py3langid):")
    typer.echo(in_language_markdown(in_language_shares(results), list(plan.languages)), nl=False)
    _print_held_out(held_out, student, out / "distill" / "card")
    print_matrix(student_results)
    typer.echo(student_note(plan))
    _print_wins(student_results)
    typer.echo(f"matrix files in {out / 'matrix'}: {', '.join(p.name for p in written)}")
    typer.echo(f"the distilled judge's matrix in {out / 'matrix-distilled'}")
    typer.echo(f"done in {time.monotonic() - started:.0f} s")
    typer.echo(f"to try the API by hand (vLLM and the service, until Ctrl-C): sxs up {out}")
    # a barely trained judge may give no valid verdict in a cell: a finding its card shows,
    # said here; any other missing cell (a failed job, a backend error) fails the demo
    unjudged = [c for c in student_results.missing() if c.error == NO_VALID_JUDGMENT]
    if unjudged:
        typer.echo(
            f"{len(unjudged)} cells of the distilled judge's matrix have no valid verdict "
            "(on every pair it found '1' and '2' equally likely, or neither among its top "
            "tokens; see its card)"
        )
    missing = len(results.missing()) + len(student_results.missing()) - len(unjudged)
    if missing:
        raise CommandFailedError(f"{missing} cells failed; see {out / 'matrix'}/matrix.json "
                                 f"and {out / 'matrix-distilled'}/matrix.json")  # fmt: skip


def _print_wins(results: MatrixResults) -> None:
    won, total = own_language_wins(results)
    typer.echo(
        f"monolingual baselines beat the other monolingual models in their own language "
        f"in {won} of {total} cells"
    )


async def _matrices(
    url: str, recipes: list[MatrixRecipe], say: Callable[[str], None]
) -> list[MatrixResults]:
    client = MatrixClient(url, concurrency=8, poll_s=0.2)
    try:
        return [await _run(client, recipe, say) for recipe in recipes]
    finally:
        await client.aclose()


def _student_results(held_out: Path) -> Path:
    """Where the distilled judge's verdicts on the held-out pairs are written."""
    return held_out.with_name("held_out.distilled.jsonl")


async def _held_out(config: OpenAIJudgeConfig, plan: DemoPlan, held_out: Path) -> ReportCard:
    judge = build_judge(config)
    try:
        return await judge_held_out(
            held_out,
            judge,
            PAPER_TEMPLATE,
            JudgmentCache(plan.out / "sxs.db"),
            _student_results(held_out),
        )
    finally:
        await judge.aclose()


def _print_held_out(card: ReportCard, student: DistilledJudge, out: Path) -> None:
    typer.echo(
        f"distilled judge vs its teacher on {card.agreement.n} held-out pairs (items "
        f"{', '.join(student.split.held_out_items)}, never trained on); its training set "
        f"answered '1' in {percent(student.train_first_share)} of {student.train_examples} "
        "examples"
    )
    typer.echo(card_markdown(card), nl=False)
    written = render_card(card, out)
    typer.echo(f"card files: {', '.join(str(path) for path in written)}")
    typer.echo(
        f"  (sxs judges report {_student_results(student.held_out)} {student.held_out} --out {out})"
    )


async def _run(
    client: MatrixClient, recipe: MatrixRecipe, say: Callable[[str], None]
) -> MatrixResults:
    cells = sum(row != baseline for row, baseline, _ in recipe.comparisons())
    finished: list[Cell] = []

    def count(cell: Cell) -> None:
        finished.append(cell)
        score = "failed" if cell.score is None else f"{cell.score:.1f}"
        say(f"matrix ({recipe.judge} judge) {len(finished)}/{cells}: "
            f"{cell.row} · {cell.language} = {score}")  # fmt: skip

    return await client.run(recipe, on_cell=count)
