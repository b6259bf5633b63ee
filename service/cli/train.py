"""`sxs train`: LoRA adapters for one mixture or a whole family, added to the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from common.errors import first_problem
from service.cli.console import progress_bar
from service.cli.errors import UsageError


def train(
    mixture: Annotated[Path, typer.Option(help="a mixture folder, or a folder of mixtures")],
    base: Annotated[Path, typer.Option(help="the base model's HF folder, or a .gguf file")],
    out: Annotated[Path, typer.Option(help="run folder (a family: one per mixture inside)")],
    registry: Annotated[
        Path | None, typer.Option("--registry", "-r", help="models.toml to add each adapter to")
    ] = None,
    name: Annotated[str | None, typer.Option(help="adapter name [default: the mixture's]")] = None,
    steps: Annotated[int, typer.Option(min=1, help="optimizer steps")] = 2000,
    learning_rate: Annotated[float, typer.Option(min=0.0, help="AdamW's learning rate")] = 2e-4,
    batch_size: Annotated[int, typer.Option(min=1, help="examples per optimizer step")] = 128,
    micro_batch_size: Annotated[
        int, typer.Option(min=1, help="examples per forward pass (divides --batch-size)")
    ] = 8,
    rank: Annotated[int, typer.Option(min=1, help="LoRA rank")] = 8,
    dev_size: Annotated[
        int, typer.Option(min=1, help="examples held out for the dev loss (at most a fifth)")
    ] = 250,
    eval_every: Annotated[int, typer.Option(min=1, help="steps between dev-loss checks")] = 200,
    seed: Annotated[int, typer.Option(help="seeds the split, the sampling and the weights")] = 0,
) -> None:
    """Train LoRA adapters (the paper's recipe by default); finished runs are skipped."""
    from training.finetune import LoraRecipe, run_is_complete, train_lora
    from training.registry_file import add_adapter

    try:
        recipe = LoraRecipe(
            steps=steps,
            learning_rate=learning_rate,
            batch_size=batch_size,
            micro_batch_size=micro_batch_size,
            rank=rank,
            dev_size=dev_size,
            eval_every=eval_every,
            seed=seed,
        )
    except ValidationError as error:
        raise UsageError(first_problem(error, "recipe")[1]) from None
    if (mixture / "manifest.json").exists():
        runs = [(mixture, out, name or mixture.name)]
    else:
        folders = sorted(p.parent for p in mixture.glob("*/manifest.json"))
        if not folders:
            raise UsageError(f"{mixture}: no mixture (manifest.json) in it or below it")
        runs = [(folder, out / folder.name, folder.name) for folder in folders]
    for folder, run, adapter_name in runs:
        if run_is_complete(run):
            typer.echo(f"{adapter_name}: finished before, skipped ({run})")
        else:
            with progress_bar(f"training {adapter_name}", recipe.steps) as advance:
                result = train_lora(folder, base, run, recipe, lambda _s, _l: advance())
            typer.echo(
                f"{adapter_name}: loss {result.first_loss:.2f} → {result.last_loss:.2f}, "
                f"best dev ROUGE-L {result.best.rouge_l:.1f} at step {result.best.step} "
                f"→ {result.adapter}"
            )
        if registry is not None:
            added = add_adapter(registry, adapter_name, run / "adapter")
            if added:
                typer.echo(f"{registry}: added adapter {adapter_name}")
