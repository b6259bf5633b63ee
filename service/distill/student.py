"""Distil a judge: the teacher's stored verdicts → a supervised set → a LoRA judge adapter of
the generators' base model, registered beside them (one engine serves it; no second server).

OUT/ receives:
- `train-set/`: the supervised set as the training code reads it (mixture.jsonl, manifest);
- `held_out.jsonl`: the held-out pairs with the teacher's verdicts, as a results file that
  `sxs judge` reads as pairs and `sxs agreement` as labels;
- `run/`: the training run (`run/adapter` is the judge);
- `distill.json`: what was done, with the figures.

Every input is checked before training: the store and its teacher verdicts, a teacher that
judges by position, the base model folder. A finished run on the same set is kept.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from common.files import write_text_atomically
from common.jsonl import write_records
from judges.distillation import (
    Split,
    balanced,
    check_teachable,
    examples,
    first_share,
    split_by_item,
)
from judges.errors import JudgeDistillationError
from judges.prompts import JudgeTemplate
from service.distill.teacher import teacher_pairs

Say = Callable[[str], None]


class DistillPlan(BaseModel):
    """What to distil, from which store, into which folder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    store: Path
    teacher: str = Field(min_length=1)
    base: Path
    out: Path
    name: str = Field(default="judge-distilled", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    registry: Path | None = None
    languages: list[str] | None = None
    max_pairs: int | None = Field(default=None, ge=1, description="training pairs, sampled")
    held_out_share: float = Field(default=1 / 3, gt=0, lt=1)
    balance: bool = True
    steps: int = Field(default=600, ge=1)
    learning_rate: float = Field(default=2e-3, gt=0)
    rank: int = Field(default=16, ge=1)
    seed: int = 0


@dataclass(frozen=True)
class DistilledJudge:
    """The judge adapter and the figures of its making."""

    name: str
    adapter: Path
    revision: str
    held_out: Path
    train_examples: int
    train_first_share: float | None
    split: Split
    trained: bool
    registered: bool


def distill_judge(plan: DistillPlan, template: JudgeTemplate, say: Say) -> DistilledJudge:
    """Build the set, train the adapter (unless a finished run on the same set exists),
    register it in `plan.registry` when given."""
    from training.finetune import LoraRecipe, run_is_complete, train_lora
    from training.mixtures import write_examples
    from training.registry_file import add_adapter, weights_revision

    if not (plan.base / "config.json").is_file():
        raise JudgeDistillationError(
            f"base model {plan.base} has no config.json; give the folder of the generators' "
            "base model (the judge becomes one of its adapters)"
        )
    languages = set(plan.languages) if plan.languages is not None else None
    pairs = teacher_pairs(plan.store, plan.teacher, languages)
    split = split_by_item(pairs, plan.held_out_share, plan.seed)
    train_pairs = split.train
    if plan.max_pairs is not None and len(train_pairs) > plan.max_pairs:
        train_pairs = random.Random(plan.seed).sample(train_pairs, plan.max_pairs)
    made = examples(train_pairs, template)
    check_teachable(made, plan.teacher)
    if plan.balance:
        made = balanced(made, plan.seed)
    rows = [example.row() for example in made]
    digest = hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()[:16]
    manifest = {
        "name": plan.name,
        "recipe": {"kind": "judge", "teacher": plan.teacher, "template": template.hash},
        "source": str(plan.store),
        "digest": digest,
        "held_out_items": split.held_out_items,
    }
    set_folder, run = plan.out / "train-set", plan.out / "run"
    write_examples(set_folder, rows, manifest)
    held_out = plan.out / "held_out.jsonl"
    write_records(held_out, (pair.record() for pair in split.held_out if not pair.identical))
    say(
        f"{len(pairs)} pairs judged by {plan.teacher!r}: {len(split.train)} on "
        f"{len({p.item for p in split.train})} items to train on, {len(split.held_out)} on "
        f"held-out items {', '.join(split.held_out_items)}; {len(rows)} examples "
        f"({_percent(first_share(made))} answer '1')"
    )

    trained = not (run_is_complete(run) and _trained_on(run) == digest)
    if trained:
        recipe = LoraRecipe.short_run(
            plan.steps,
            plan.learning_rate,
            plan.rank,
            max_target_tokens=1,  # the loss at the verdict digit alone
            dev_size=20,  # one dev check, at the end: each is a minute on a CPU
            eval_max_new_tokens=1,
            seed=plan.seed,
        )
        result = train_lora(set_folder, plan.base, run, recipe)
        say(
            f"trained judge {plan.name!r}: loss {result.first_loss:.2f} → "
            f"{result.last_loss:.2f}, dev ROUGE-L of the verdict digit "
            f"{result.best.rouge_l:.0f} at step "
            f"{result.best.step}"
        )
    adapter = run / "adapter"
    registered = plan.registry is not None and add_adapter(plan.registry, plan.name, adapter)
    revision = weights_revision(adapter)
    report = {
        "name": plan.name,
        "teacher": plan.teacher,
        "template": template.hash,
        "adapter": str(adapter),
        "revision": revision,
        "pairs": len(pairs),
        "train_pairs": len(train_pairs),
        "held_out_pairs": len(split.held_out),
        "held_out_items": split.held_out_items,
        "train_examples": len(rows),
        "train_first_share": first_share(made),
        "plan": json.loads(plan.model_dump_json()),
    }
    write_text_atomically(plan.out / "distill.json", json.dumps(report, indent=2) + "\n")
    return DistilledJudge(
        name=plan.name,
        adapter=adapter,
        revision=revision,
        held_out=held_out,
        train_examples=len(rows),
        train_first_share=first_share(made),
        split=split,
        trained=trained,
        registered=registered,
    )


def _trained_on(run: Path) -> str | None:
    manifest = json.loads((run / "manifest.json").read_text("utf-8"))
    digest = manifest.get("mixture", {}).get("digest")
    return digest if isinstance(digest, str) else None


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}%"
