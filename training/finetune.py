"""LoRA fine-tuning of a causal LM on one mixture (transformers + peft, a plain torch loop).

The paper's recipe as defaults (Appendix C): 2,000 steps, batch 128 (by gradient accumulation
of micro-batches), dropout 0.05, inputs ≤ 1,024 tokens, targets ≤ 512, a 250-example dev set,
the checkpoint chosen by dev ROUGE-L. LoRA needs a larger learning rate than the paper's full
fine-tuning (1e-5): 2e-4 by default. The loss covers the response tokens only; prompts use the
base model's chat template.

Made to fit a CPU (see `benchmarks/train_speed.py`): the LM head runs only on the labelled
positions (a 262k-token vocabulary makes it most of a step otherwise), the checkpoint's own
dtype (bf16 for a converted GGUF base: the fast path where the CPU has AMX / AVX512-BF16), and
micro-batches of similar lengths (little padding).

Out folder: `adapter/` (the chosen checkpoint), `checkpoints/step-N/`, `train_log.jsonl` (loss
per step, dev ROUGE-L per evaluation) and `manifest.json`, whose `complete` marks a finished
run (a family skips those).
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from common.errors import InputFileError
from training.batches import micro_batches
from training.loss import labelled_loss
from training.rouge import rouge_l

# every linear layer of a Llama block: a random tiny model learns much faster than with
# attention alone (loss 15.5 → 0.01 in 200 steps at rank 16, against 2.7 for q/k/v/o at rank 8)
ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class LoraRecipe(BaseModel):
    """How an adapter is trained."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    steps: int = Field(default=2000, ge=1)
    learning_rate: float = Field(default=2e-4, gt=0)
    batch_size: int = Field(default=128, ge=1)
    micro_batch_size: int = Field(default=8, ge=1)
    rank: int = Field(default=8, ge=1)
    alpha: int = Field(default=16, ge=1)
    dropout: float = Field(default=0.05, ge=0, lt=1)
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    max_input_tokens: int = Field(default=1024, ge=8)
    max_target_tokens: int = Field(default=512, ge=1)
    dev_size: int = Field(default=250, ge=1)
    eval_every: int = Field(default=200, ge=1)
    eval_max_new_tokens: int = Field(default=128, ge=1)
    seed: int = 0
    dtype: Literal["auto", "float32", "bfloat16"] = Field(
        default="auto", description="auto: the checkpoint's own dtype"
    )
    logits: Literal["labelled", "all"] = Field(
        default="labelled",
        description="where the LM head runs: the labelled positions, or all (transformers' own "
        "loss; slower, kept for comparison)",
    )
    length_buckets: bool = Field(default=True, description="micro-batches of similar lengths")

    @classmethod
    def short_run(cls, steps: int, learning_rate: float, rank: int, **more: Any) -> LoraRecipe:
        """A short CPU run (the demo's adapters, a distilled judge): batches of 8, alpha twice
        the rank, every linear layer, one dev check at the end; `more` sets the rest."""
        return cls(
            steps=steps, learning_rate=learning_rate, batch_size=8, micro_batch_size=8,
            rank=rank, alpha=2 * rank, target_modules=ALL_LINEAR, eval_every=steps, **more,
        )  # fmt: skip

    @model_validator(mode="after")
    def _whole_micro_batches(self) -> LoraRecipe:
        if self.batch_size % self.micro_batch_size:
            raise ValueError(
                f"batch_size {self.batch_size} is not a multiple of micro_batch_size "
                f"{self.micro_batch_size}"
            )
        return self


@dataclass(frozen=True)
class Evaluation:
    step: int
    rouge_l: float


@dataclass(frozen=True)
class TrainResult:
    """Where the adapter is, which checkpoint it is, and how training went."""

    adapter: Path
    best: Evaluation
    evaluations: list[Evaluation]
    first_loss: float
    last_loss: float


def run_is_complete(run: Path) -> bool:
    """Whether `run` holds a finished training run (its manifest says `complete`)."""
    try:
        return bool(json.loads((run / "manifest.json").read_text("utf-8")).get("complete"))
    except (OSError, ValueError):
        return False


def read_mixture(folder: Path) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """A mixture folder's manifest and examples."""
    manifest_file, examples_file = folder / "manifest.json", folder / "mixture.jsonl"
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        rows = [json.loads(line) for line in examples_file.read_text("utf-8").splitlines()]
    except (OSError, ValueError) as error:
        raise InputFileError(str(folder), None, f"not a mixture folder ({error})") from None
    if not rows:
        raise InputFileError(str(examples_file), None, "the mixture holds no examples")
    return manifest, rows


def encode(
    tokenizer: Any, instruction: str, response: str, recipe: LoraRecipe
) -> tuple[list[int], list[int]]:
    """Token ids of the chat-formatted example and its labels (-100 on the prompt)."""
    user = [{"role": "user", "content": instruction}]
    prompt = tokenizer.apply_chat_template(
        user, add_generation_prompt=True, tokenize=True, return_dict=False
    )[: recipe.max_input_tokens]
    full = tokenizer.apply_chat_template(
        [*user, {"role": "assistant", "content": response}], tokenize=True, return_dict=False
    )
    target = full[
        len(
            tokenizer.apply_chat_template(
                user, add_generation_prompt=True, tokenize=True, return_dict=False
            )
        ) :
    ]
    target = target[: recipe.max_target_tokens]
    return prompt + target, [-100] * len(prompt) + target


def train_lora(
    mixture: Path,
    base: Path,
    out: Path,
    recipe: LoraRecipe | None = None,
    on_step: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Train a LoRA adapter of `base` on the mixture in `mixture`, into `out`."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.base_models import base_folder

    recipe = recipe or LoraRecipe()
    base = base_folder(base)
    manifest, rows = read_mixture(mixture)
    shuffled = rows[:]
    random.Random(recipe.seed).shuffle(shuffled)
    dev_size = min(recipe.dev_size, max(1, len(rows) // 5))
    dev, train = shuffled[:dev_size], shuffled[dev_size:]
    if not train:
        raise InputFileError(str(mixture), None, "too few examples to keep a dev set")

    torch.manual_seed(recipe.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tokenizer = AutoTokenizer.from_pretrained(base)
    pretrained: Any = AutoModelForCausalLM.from_pretrained(base, dtype=_torch_dtype(recipe))
    pretrained.to(device)
    config = LoraConfig(
        r=recipe.rank,
        lora_alpha=recipe.alpha,
        lora_dropout=recipe.dropout,
        target_modules=list(recipe.target_modules),
        task_type="CAUSAL_LM",
    )
    model: Any = get_peft_model(pretrained, config)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=recipe.learning_rate
    )
    encoded = [encode(tokenizer, r["instruction"], r["response"], recipe) for r in train]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    groups = [str(r["group"]) for r in train] if all("group" in r for r in train) else None
    batches = micro_batches(
        [len(ids) for ids, _ in encoded], recipe.micro_batch_size, recipe.seed + 1,
        recipe.length_buckets, groups,
    )  # fmt: skip
    accumulation = recipe.batch_size // recipe.micro_batch_size

    out.mkdir(parents=True, exist_ok=True)
    log_file = (out / "train_log.jsonl").open("w", encoding="utf-8")
    evaluations: list[Evaluation] = []
    losses: list[float] = []
    try:
        for step in range(1, recipe.steps + 1):
            model.train()
            total = 0.0
            for _ in range(accumulation):
                batch = [encoded[index] for index in next(batches)]
                width = max(len(ids) for ids, _ in batch)
                ids = torch.tensor([i + [pad] * (width - len(i)) for i, _ in batch], device=device)
                labels = torch.tensor(
                    [lab + [-100] * (width - len(lab)) for _, lab in batch], device=device
                )
                mask = torch.tensor(
                    [[1] * len(i) + [0] * (width - len(i)) for i, _ in batch], device=device
                )
                if recipe.logits == "all":
                    loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
                else:
                    loss = labelled_loss(model, ids, mask, labels)
                (loss / accumulation).backward()
                total += loss.item() / accumulation
            optimizer.step()
            optimizer.zero_grad()
            losses.append(total)
            log_file.write(json.dumps({"step": step, "loss": total}) + "\n")
            if on_step is not None:
                on_step(step, total)
            if step % recipe.eval_every == 0 or step == recipe.steps:
                score = _dev_rouge_l(model, tokenizer, dev, recipe, device)
                evaluations.append(Evaluation(step, score))
                model.save_pretrained(str(out / "checkpoints" / f"step-{step}"))
                log_file.write(json.dumps({"step": step, "dev_rouge_l": score}) + "\n")
            log_file.flush()
    finally:
        log_file.close()

    best = max(evaluations, key=lambda e: (e.rouge_l, -e.step))
    adapter = out / "adapter"
    staging = out / ".adapter.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(out / "checkpoints" / f"step-{best.step}", staging)
    shutil.rmtree(adapter, ignore_errors=True)
    staging.rename(adapter)
    result = {
        "complete": True,
        "base": str(base),
        "mixture": manifest,
        "recipe": recipe.model_dump(),
        "train_examples": len(train),
        "dev_examples": len(dev),
        "evaluations": [e.__dict__ for e in evaluations],
        "best_step": best.step,
        "best_dev_rouge_l": best.rouge_l,
        "first_loss": losses[0],
        "last_loss": losses[-1],
        "finished_at": time.time(),
    }
    (out / "manifest.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return TrainResult(adapter, best, evaluations, losses[0], losses[-1])


def _torch_dtype(recipe: LoraRecipe) -> Any:
    import torch

    return {"auto": "auto", "float32": torch.float32, "bfloat16": torch.bfloat16}[recipe.dtype]


def _dev_rouge_l(
    model: Any, tokenizer: Any, dev: list[dict[str, str]], recipe: LoraRecipe, device: str
) -> float:
    import torch

    model.eval()
    predictions: list[str] = []
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    for start in range(0, len(dev), recipe.micro_batch_size):
        chunk = dev[start : start + recipe.micro_batch_size]
        prompts = [
            tokenizer.apply_chat_template(
                [{"role": "user", "content": r["instruction"]}],
                add_generation_prompt=True,
                tokenize=True,
                return_dict=False,
            )[: recipe.max_input_tokens]
            for r in chunk
        ]
        width = max(len(p) for p in prompts)
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
        with torch.no_grad():
            output = model.generate(
                input_ids=ids,
                attention_mask=mask,
                do_sample=False,
                max_new_tokens=recipe.eval_max_new_tokens,
                pad_token_id=pad,
            )
        predictions += tokenizer.batch_decode(output[:, width:], skip_special_tokens=True)
    return rouge_l(predictions, [r["response"] for r in dev])
