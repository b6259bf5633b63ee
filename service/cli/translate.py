"""`sxs translate`: a parallel set from an English (or any one-language) instruction set."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from common.jsonl import write_records
from common.lists import comma_list
from common.openai_http import ClientSettings
from service.cli.console import progress_bar
from service.cli.errors import CommandFailedError, UsageError, checked
from training.translate import (
    TextToTranslate,
    Translated,
    TranslationApi,
    TranslationEndpoint,
    Translator,
)
from training.translated_set import parallel_records, read_source, texts_to_translate


def translate(
    source_file: Annotated[
        Path, typer.Argument(help="JSONL {id, instruction, response} in the source language")
    ],
    to: Annotated[str, typer.Option(help="target languages, comma-separated (e.g. es,fi,ru)")],
    endpoint: Annotated[str, typer.Option(help="OpenAI-compatible base URL, e.g. …:8000/v1")],
    model: Annotated[str, typer.Option(help="the endpoint's model name")],
    out: Annotated[Path, typer.Option(help="the parallel JSONL to write")],
    source: Annotated[str, typer.Option(help="the source language")] = "en",
    api: Annotated[TranslationApi, typer.Option(help="chat or completions")] = TranslationApi.CHAT,
    max_tokens: Annotated[int, typer.Option(min=1, help="per translation")] = 1024,
    prompt_file: Annotated[
        Path | None, typer.Option(help="prompt template with {source} {target} {text}")
    ] = None,
    db: Annotated[Path, typer.Option(envvar="SXS_DB", help="SQLite cache")] = Path(".sxs/sxs.db"),
    concurrency: Annotated[int, typer.Option(min=1, help="requests in flight")] = 16,
    timeout: Annotated[float, typer.Option(min=0.001, help="seconds per request")] = 300.0,
    api_key: Annotated[
        str | None,
        typer.Option(envvar="SXS_TRANSLATE_API_KEY", help="bearer token of the endpoint"),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="only the first N items")] = None,
) -> None:
    """Translate every instruction and response; failed items go to OUT.failed.jsonl.

    Translations are cached as they arrive: a rerun (after a failure or Ctrl-C) makes calls
    only for what is missing. Exits 1 when any item failed, after writing the rest.
    """
    targets = [code for code in comma_list(to) if code != source]
    if not targets:
        raise UsageError(f"--to names no language other than the source {source!r}")
    try:
        template = prompt_file.read_text("utf-8") if prompt_file else None
    except OSError as error:
        raise UsageError(f"--prompt-file: {error}") from None
    settings = checked(
        lambda: TranslationEndpoint(
            base_url=endpoint,
            model=model,
            api=api,
            max_tokens=max_tokens,
            **({"prompt": template} if template else {}),
        ),
        {"base_url": "--endpoint"},
    )
    if template is not None and not all(f"{{{p}}}" in template for p in ("target", "text")):
        raise UsageError("--prompt-file must hold {target} and {text}")
    failed_file = out.with_suffix(".failed.jsonl")
    items = read_source(source_file, source)[:limit]
    tasks = texts_to_translate(items, source, targets)
    client = ClientSettings(concurrency=concurrency, timeout_s=timeout, api_key=api_key)
    translator = Translator(settings, db, client=client)
    results = asyncio.run(_run(translator, tasks))
    records, failed = parallel_records(items, results, source)
    write_records(out, records)
    if failed:
        write_records(failed_file, ({"id": f.id, "problems": f.problems} for f in failed))
    else:
        failed_file.unlink(missing_ok=True)
    counts = translator.counts
    typer.echo(
        f"{len(records)} of {len(items)} items translated into {', '.join(targets)} → {out} "
        f"({counts.translated} texts translated, {counts.cache_hits} from the cache)"
    )
    if failed:
        first = failed[0]
        raise CommandFailedError(
            f"{len(failed)} items failed (e.g. {first.id!r}: {first.problems[0]}); "
            f"they are listed in {failed_file}; rerun the same command to retry only them"
        )


async def _run(translator: Translator, tasks: list[TextToTranslate]) -> list[Translated]:
    try:
        await translator.check()
        with progress_bar("translating", len(tasks)) as advance:
            return await translator.translate(tasks, on_result=lambda _: advance())
    finally:
        await translator.aclose()
