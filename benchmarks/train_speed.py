"""`train_lora` tokens/s on the real base, before and after the CPU changes, in one run.

before: the LM head over every position (transformers' own loss), the model in float32,
        micro-batches drawn at random (as `train_lora` was);
after:  the head on the labelled positions only, the checkpoint's bf16, length-bucketed
        micro-batches (today's defaults).

The base is the packaged Gemma 3 270M (the `gemma` extra; converted once), LoRA rank 16 on
every linear layer, micro-batches of 8, on the Spanish monolingual mixture of the project's
sample. Figures: real (unpadded) tokens per second and seconds per step, timed from the end of
the first step to the end of the last (model loading and the dev evaluation excluded).

    .venv/bin/python benchmarks/train_speed.py [--steps 6]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.base_models import gemma_base  # noqa: E402
from training.finetune import ALL_LINEAR, LoraRecipe, encode, read_mixture, train_lora  # noqa: E402
from training.mixtures import monolingual, write_mixture  # noqa: E402
from training.parallel import load_parallel  # noqa: E402

SAMPLE = ROOT / "examples" / "sample_parallel.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        base = gemma_base(Path(os.environ.get("SXS_BENCH_MODELS", folder)) / "gguf").folder
        write_mixture(load_parallel(SAMPLE), monolingual(load_parallel(SAMPLE), "es"),
                      folder / "mixtures", str(SAMPLE))  # fmt: skip
        mixture = folder / "mixtures" / "mono-es"
        settings = {
            "before": {"logits": "all", "dtype": "float32", "length_buckets": False},
            "after": {},
        }
        print(f"train_lora on Gemma 3 270M, LoRA r16 all linear, micro-batch 8, "
              f"{os.cpu_count()} CPUs")  # fmt: skip
        print(f"{'':8} {'tokens/s':>9} {'s/step':>7} {'loss first → last':>18}")
        rates: dict[str, float] = {}
        for label, extra in settings.items():
            recipe = LoraRecipe.model_validate(
                {"steps": args.steps, "learning_rate": 2e-4, "batch_size": 8,
                 "micro_batch_size": 8, "rank": 16, "alpha": 32,
                 "target_modules": ALL_LINEAR, "dev_size": 2, "eval_every": args.steps,
                 "eval_max_new_tokens": 1} | extra
            )  # fmt: skip
            tokens = mean_tokens(mixture, base, recipe) * recipe.batch_size
            stamps: list[float] = []

            def stamp(_step: int, _loss: float, stamps: list[float] = stamps) -> None:
                stamps.append(time.perf_counter())

            result = train_lora(mixture, base, folder / label, recipe, on_step=stamp)
            per_step = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
            rates[label] = tokens / per_step
            print(f"{label:8} {rates[label]:9.0f} {per_step:7.2f} "
                  f"{result.first_loss:8.2f} → {result.last_loss:.2f}", flush=True)  # fmt: skip
        print(f"after / before: {rates['after'] / rates['before']:.2f}x")


def mean_tokens(mixture: Path, base: Path, recipe: LoraRecipe) -> float:
    """The mean real length of the mixture's examples, in tokens."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base)
    _, rows = read_mixture(mixture)
    lengths = [len(encode(tokenizer, r["instruction"], r["response"], recipe)[0]) for r in rows]
    return sum(lengths) / len(lengths)


if __name__ == "__main__":
    main()
