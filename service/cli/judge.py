"""`sxs judge`: the SxS protocol over a JSONL file of pairs."""

from __future__ import annotations

import asyncio
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import TypeAdapter
from rich.console import Console
from rich.table import Table

from common.jsonl import write_records
from judges.backends.batch_config import BatchJudgeConfig
from judges.backends.factory import JUDGE_KINDS, JudgeConfig, build_judge
from judges.backends.openai import ApiKind, JudgeMode
from judges.cache import JudgmentCache
from judges.pairs import Pair, read_pairs
from judges.prompts import PAPER_TEMPLATE, JudgeTemplate
from judges.results import judged_pair, result_record
from judges.statistics import Summary, summarize
from judges.sxs import PairResult, SideBySide
from service.cli.console import print_plan, progress_bar
from service.cli.errors import UsageError, checked
from service.cli.options import (
    CompletionPriceOption,
    PlanOption,
    PromptPriceOption,
    prices_option,
)
from service.plans.model import MatrixPlan
from service.plans.pairs import plan_pairs

# the judge backends `sxs judge` can use: every kind of the judge settings' union
Backend = StrEnum("Backend", {kind.upper().replace("-", "_"): kind for kind in JUDGE_KINDS})  # type: ignore[misc]
BATCH = Backend(BatchJudgeConfig.model_fields["kind"].default)  # gathers calls into batches


_OPTIONS = {
    "base_url": "--base-url",
    "model": "--model",
    "path": "--replay",
    "concurrency": "--concurrency",
    "timeout_s": "--timeout",
    "max_attempts": "--max-attempts",
    "retry_temperature": "--retry-temperature",
    "batch_size": "--batch-size",
    "poll_s": "--poll",
}
_JUDGE_CONFIG: TypeAdapter[JudgeConfig] = TypeAdapter(JudgeConfig)


def judge(
    pairs_file: Annotated[
        Path,
        typer.Argument(
            help="JSONL: instruction, response_a, response_b [, id, language, reference]"
        ),
    ],
    backend: Annotated[Backend, typer.Option("--backend", "-b", help="who judges")],
    base_url: Annotated[
        str | None, typer.Option(envvar="SXS_JUDGE_URL", help="openai: server root with /v1")
    ] = None,
    model: Annotated[
        str | None, typer.Option(envvar="SXS_JUDGE_MODEL", help="openai: judge model name")
    ] = None,
    mode: Annotated[
        JudgeMode, typer.Option(help="openai: read a digit or compare logprobs")
    ] = JudgeMode.GENERATE,
    api: Annotated[
        ApiKind, typer.Option(help="openai: raw prompt or chat template")
    ] = ApiKind.COMPLETIONS,
    api_key: Annotated[
        str | None,
        typer.Option(envvar="SXS_JUDGE_API_KEY", help="openai: bearer token", show_default=False),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, max=1024, help="judge requests in flight")
    ] = 64,
    timeout: Annotated[float, typer.Option(min=0.001, help="openai: seconds per request")] = 60.0,
    max_attempts: Annotated[int, typer.Option(min=1, max=20, help="openai: tries per request")] = 4,
    batch_size: Annotated[
        int, typer.Option(min=1, max=50_000, help="openai-batch: requests per batch")
    ] = 5000,
    poll: Annotated[
        float, typer.Option(min=0.001, help="openai-batch: seconds between two polls")
    ] = 30.0,
    replay: Annotated[Path | None, typer.Option(help="replay: results file to read")] = None,
    template: Annotated[
        Path | None, typer.Option(help="judge prompt file (default: the paper's Figure 9)")
    ] = None,
    parse_attempts: Annotated[
        int,
        typer.Option(
            min=1, help="asks per order before an output that is no verdict counts invalid"
        ),
    ] = 3,
    retry_temperature: Annotated[
        float,
        typer.Option(help="openai, generate mode: sampling temperature of a parse retry"),
    ] = 0.7,
    out: Annotated[
        Path | None,
        typer.Option(help="per-pair results JSONL [default: ./<pairs stem>.judged.jsonl]"),
    ] = None,
    db: Annotated[Path, typer.Option(envvar="SXS_DB", help="SQLite store of judgments")] = Path(
        ".sxs/sxs.db"
    ),
    no_cache: Annotated[bool, typer.Option("--no-cache", help="neither read nor store")] = False,
    bootstrap_samples: Annotated[int, typer.Option(min=100, help="bootstrap resamples")] = 2000,
    seed: Annotated[int, typer.Option(help="bootstrap seed")] = 0,
    allow_empty: Annotated[
        bool,
        typer.Option("--allow-empty", help="judge empty responses as they are instead of refusing"),
    ] = False,
    prompt_price: PromptPriceOption = None,
    completion_price: CompletionPriceOption = None,
    plan: PlanOption = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the summary (or the plan) as JSON")
    ] = False,
) -> None:
    """Judge every pair in both orders and report model A's discounted-tie score vs B.

    With --plan, only what it would do (judge calls needed and stored, tokens, price, time):
    no judge call."""
    pairs = read_pairs(pairs_file, allow_empty=allow_empty)
    config = _judge_config(
        backend,
        base_url=base_url,
        model=model,
        mode=mode,
        api=api,
        api_key=api_key,
        concurrency=concurrency,
        timeout_s=timeout,
        max_attempts=max_attempts,
        retry_temperature=retry_temperature,
        batch_size=batch_size,
        poll_s=poll,
        path=replay,
        prices=prices_option(prompt_price, completion_price),
    )
    if backend is BATCH and no_cache:
        raise UsageError(
            "the openai-batch backend keeps its batch ids and replies in the store (--db): "
            "drop --no-cache"
        )
    prompt = JudgeTemplate.from_file(template) if template else PAPER_TEMPLATE
    cache = None if no_cache else JudgmentCache(db)
    if plan:
        judged = build_judge(config, store=db)
        run = asyncio.run(plan_pairs(judged, config, prompt, cache, pairs, db))
        print_plan(MatrixPlan(cells=[], total=run), as_json)
        return
    sxs = SideBySide(
        build_judge(config, store=db),
        template=prompt,
        cache=cache,
        parse_attempts=parse_attempts,
        # a batch judge answers at once what it is given: hand it every pair
        concurrency=max(len(pairs), 1) if backend is BATCH else concurrency,
    )
    try:
        results = asyncio.run(_judge_with_progress(sxs, pairs))
    except BaseException:
        _report_saved(sxs, cache)
        raise
    summary = summarize([judged_pair(r) for r in results], samples=bootstrap_samples, seed=seed)
    destination = out or Path(f"{pairs_file.stem}.judged.jsonl")
    write_records(destination, (result_record(r) for r in results))
    _print_summary(summary, sxs, pairs_file, destination, as_json)


def _judge_config(backend: Backend, **settings: object) -> JudgeConfig:
    wanted = JUDGE_KINDS[backend.value].model_fields  # the options this backend takes
    values = {k: v for k, v in settings.items() if k in wanted and v is not None}
    config = {"kind": backend.value, **values}
    return checked(lambda: _JUDGE_CONFIG.validate_python(config), _OPTIONS, f"backend {backend}: ")


async def _judge_with_progress(sxs: SideBySide, pairs: list[Pair]) -> list[PairResult]:
    with progress_bar("judging", len(pairs)) as advance:
        try:
            return await sxs.run(pairs, on_result=lambda _: advance())
        finally:
            await sxs.judge.aclose()


def _report_saved(sxs: SideBySide, cache: JudgmentCache | None) -> None:
    stored = sxs.counts.stored
    if cache is not None and stored:
        typer.echo(
            f"{stored} judge replies received before stopping are saved in {cache.path}; "
            "run the same command again to continue from there",
            err=True,
        )


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _print_summary(
    summary: Summary, sxs: SideBySide, pairs_file: Path, results: Path, as_json: bool
) -> None:
    counts = sxs.counts
    if as_json:
        typer.echo(
            json.dumps(
                {
                    **summary.as_dict(),
                    "judge": sxs.judge.identity,
                    "template": sxs.template.hash,
                    "judge_calls": counts.judge_calls,
                    "cache_hits": counts.cache_hits,
                    "parse_retries": counts.parse_retries,
                    "results": str(results),
                }
            )
        )
        return
    table = Table(title=f"sxs judge · {pairs_file.name} · {sxs.judge.identity}", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    interval = f"[{_percent(summary.ci_low)}, {_percent(summary.ci_high)}]"
    table.add_row("pairs", str(summary.pairs))
    table.add_row("score of A vs B (%)", f"{_percent(summary.score)}  95% CI {interval}")
    table.add_row("wins / ties / losses", f"{summary.wins} / {summary.ties} / {summary.losses}")
    table.add_row("invalid (excluded)", str(summary.invalid))
    table.add_row("identical (tie, no call)", str(summary.identical))
    table.add_row("empty responses A / B", f"{summary.empty_a} / {summary.empty_b}")
    table.add_row("order consistency (%)", _percent(summary.order_consistency))
    table.add_row("first-position preference (%)", _percent(summary.first_position_preference))
    table.add_row("judge calls / cache hits", f"{counts.judge_calls} / {counts.cache_hits}")
    usage = summary.usage
    table.add_row(
        "judge tokens prompt / completion",
        f"{usage.prompt_tokens:,} / {usage.completion_tokens:,}"
        + (f" ({usage.unreported} replies without usage)" if usage.unreported else ""),
    )
    table.add_row("template", f"{sxs.template.name} ({sxs.template.hash})")
    Console().print(table)
    typer.echo(f"results: {results}")
