"""Can a student judge learn the `reference` teacher when it sees the reference answer too?

The demo's distilled judge reads the paper's Figure 9 prompt, which holds no reference answer,
while its teacher decides by chrF against one. This experiment removes that handicap: on the
split `sxs judges distill` makes (by item, a third held out, seed 0) it trains a LoRA student
of the base on a short reference-guided prompt (the reference, Answer1, Answer2, the question;
both orders of a pair in one micro-batch, the loss at the verdict digit), optionally only on
the pairs whose chrF scores lie `--margin` points apart or more, and reads each checkpoint's
held-out verdicts from the logits of '1' and '2' (transformers, in this process):

- agreement: the Appendix-D agreement of the order-swapped protocol with the teacher (each
  order's verdict is the larger digit; an exact tie is invalid);
- first: the share of valid verdicts that pick Answer1 (position preference; 50 is none);
- pair accuracy: whether logit('1') − logit('2') is larger with A shown first than with B
  shown first, where the teacher prefers A (the position bias cancels: content alone).

    .venv/bin/python scripts/distill_reference_student.py out/demo/sxs.db --steps 150 --every 50
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generators.eval_sets import reference_answers  # noqa: E402
from generators.registry import load_registry  # noqa: E402
from judges.agreement import item_agreement  # noqa: E402
from judges.distillation import Example, TeacherPair, balanced, split_by_item  # noqa: E402
from judges.results import label_of  # noqa: E402
from judges.verdicts import Order, Outcome, Verdict, outcome_of  # noqa: E402
from scripts.distill_signal import chrf_gap  # noqa: E402
from service.distill.teacher import teacher_pairs  # noqa: E402

TEMPLATE = "Reference: {reference}\n1: {first}\n2: {second}\nWhich answer is closer to the reference, 1 or 2?"  # noqa: E501
References = dict[tuple[str, str], str]


def prompt(pair: TeacherPair, first: str, second: str, references: References) -> str:
    reference = references[(pair.item, pair.language)]
    return TEMPLATE.format(reference=reference, first=first, second=second)


def training_rows(pairs: list[TeacherPair], references: References, margin: float) -> list[Any]:
    made = [
        Example(pair.id, order, prompt(pair, first, second, references), verdict)
        for pair in pairs
        if chrf_gap(pair, references[(pair.item, pair.language)]) >= margin
        for order, first, second, verdict in pair.judged()
    ]
    return [example.row() for example in balanced(made, seed=0)]


def digit_margins(base: Path, adapter: Path, prompts: list[str]) -> list[float]:
    """logit('1') − logit('2') at the verdict position of each chat-formatted prompt."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.loss import decoder_states, head_logits

    tokenizer: Any = AutoTokenizer.from_pretrained(base)
    one, two = tokenizer.convert_tokens_to_ids(["1", "2"])
    model: Any = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(base, dtype="auto"), str(adapter)
    ).eval()
    encoded = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], add_generation_prompt=True, return_dict=False
        )
        for text in prompts
    ]
    margins: dict[int, float] = {}
    ranked = sorted(range(len(encoded)), key=lambda index: len(encoded[index]))
    with torch.no_grad():
        for start in range(0, len(ranked), 16):
            chunk = ranked[start : start + 16]
            width = max(len(encoded[index]) for index in chunk)
            pads = [width - len(encoded[index]) for index in chunk]
            ids = torch.tensor([[0] * p + encoded[i] for p, i in zip(pads, chunk, strict=True)])
            mask = torch.tensor([[0] * p + [1] * (width - p) for p in pads])
            logits = head_logits(model, decoder_states(model, ids, mask)[:, -1])
            for row, index in enumerate(chunk):
                margins[index] = float(logits[row, one] - logits[row, two])
    return [margins[index] for index in range(len(encoded))]


def verdict_of(margin: float) -> Verdict | None:
    return None if margin == 0 else Verdict.FIRST if margin > 0 else Verdict.SECOND


def scores(pairs: list[TeacherPair], margins: list[float]) -> dict[str, float]:
    """Agreement, first-position share, invalid pairs and pair accuracy (see the module)."""
    agreements: list[float] = []
    firsts: list[bool] = []
    right: list[float] = []
    invalid = 0
    for index, pair in enumerate(pairs):
        ab, ba = margins[2 * index], margins[2 * index + 1]
        verdicts = {Order.AB: verdict_of(ab), Order.BA: verdict_of(ba)}
        firsts += [v is Verdict.FIRST for v in verdicts.values() if v is not None]
        label, taught = label_of(outcome_of(*verdicts.values())), label_of(pair.outcome)
        if label is None:
            invalid += 1
        elif taught is not None:
            agreements.append(item_agreement(label, taught))
        if pair.outcome in (Outcome.WIN, Outcome.LOSS):
            content = ab - ba  # equal margins: a coin
            wins = pair.outcome is Outcome.WIN
            right.append(0.5 if content == 0 else float((content > 0) == wins))
    return {
        "agreement": 100 * statistics.fmean(agreements) if agreements else float("nan"),
        "first": 100 * statistics.fmean(firsts) if firsts else float("nan"),
        "invalid": 100 * invalid / len(pairs),
        "pair_accuracy": 100 * statistics.fmean(right) if right else float("nan"),
        "bias": statistics.fmean(margins),
        "spread": statistics.pstdev(margins),
    }


def main() -> None:
    from training.finetune import ALL_LINEAR, LoraRecipe, train_lora
    from training.mixtures import write_examples

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--eval-set", type=Path, help="default: STORE's folder's eval.jsonl")
    parser.add_argument("--base", type=Path, help="default: STORE's folder's models.toml base")
    parser.add_argument("--out", type=Path, help="default: STORE's folder's distill-reference")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--every", type=int, default=50, help="a checkpoint every N steps")
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--batch", type=int, default=8, help="examples a step (8 a micro-batch)")
    parser.add_argument("--margin", type=float, default=0.0, help="train on chrF gaps ≥ this")
    args = parser.parse_args()
    folder = args.store.parent
    base = args.base or Path(load_registry(folder / "models.toml").base_path())
    out = args.out or folder / "distill-reference"
    references = reference_answers(args.eval_set or folder / "eval.jsonl")
    split = split_by_item(teacher_pairs(args.store, "reference"), 1 / 3, seed=0)
    rows = training_rows(split.train, references, args.margin)
    shutil.rmtree(out, ignore_errors=True)
    write_examples(out / "set", rows, {"name": "reference-student", "margin": args.margin})
    recipe = LoraRecipe(
        steps=args.steps, learning_rate=args.learning_rate, batch_size=args.batch,
        micro_batch_size=8, rank=args.rank, alpha=2 * args.rank, target_modules=ALL_LINEAR,
        max_target_tokens=1, dev_size=8, eval_every=args.every, eval_max_new_tokens=1,
    )  # fmt: skip
    result = train_lora(out / "set", base, out / "run", recipe)
    print(f"{len(rows)} training prompts; loss {result.first_loss:.3f} → {result.last_loss:.3f}")
    held = [pair for pair in split.held_out if not pair.identical and pair.ab is not None]
    prompts = [
        prompt(pair, first, second, references)
        for pair in held
        for first, second in (
            (pair.response_a, pair.response_b),
            (pair.response_b, pair.response_a),
        )
    ]
    for evaluation in result.evaluations:
        checkpoint = out / "run" / "checkpoints" / f"step-{evaluation.step}"
        figures = scores(held, digit_margins(base, checkpoint, prompts))
        print(
            f"step {evaluation.step}: " + json.dumps({k: round(v, 3) for k, v in figures.items()})
        )


if __name__ == "__main__":
    main()
