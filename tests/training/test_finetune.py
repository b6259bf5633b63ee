"""What makes `train_lora` fit a CPU, checked against what it replaces: the loss with the LM head
on the labelled positions only equals transformers' own loss over every position, and the
length buckets keep every example once per epoch."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from training.batches import micro_batches
from training.loss import labelled_loss

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from training.tiny_model import build_tiny_llama

    base = build_tiny_llama(tmp_path_factory.mktemp("tiny") / "base")
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(base)
    config = LoraConfig(r=4, init_lora_weights=False, target_modules=["q_proj", "v_proj"])
    return get_peft_model(model, config)


def test_the_labelled_loss_is_transformers_loss(tiny: Any) -> None:
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(3, tiny.config.vocab_size, (3, 12), generator=generator)
    mask = torch.ones_like(ids)
    mask[2, 9:] = 0  # a padded row
    labels = ids.clone()
    labels[:, :5] = -100  # the prompt
    labels[2, 9:] = -100
    labels[1, 7] = -100  # a hole in a target
    expected = tiny(input_ids=ids, attention_mask=mask, labels=labels).loss
    mine = labelled_loss(tiny, ids, mask, labels)
    torch.testing.assert_close(mine, expected, rtol=1e-5, atol=1e-5)
    mine.backward()  # and it trains the adapter
    grads = [p.grad for name, p in tiny.named_parameters() if "lora_" in name]
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads)


def test_length_buckets_keep_every_example_once_per_epoch() -> None:
    lengths = [5 + (i * 37) % 200 for i in range(64 * 5)]
    batches = micro_batches(lengths, 8, seed=3)
    epoch = [next(batches) for _ in range(len(lengths) // 8)]
    assert Counter(i for batch in epoch for i in batch) == Counter(range(len(lengths)))
    padding = sum(max(lengths[i] for i in b) * 8 - sum(lengths[i] for i in b) for b in epoch)
    unsorted = micro_batches(lengths, 8, seed=3, by_length=False)
    plain = [next(unsorted) for _ in range(len(lengths) // 8)]
    random_padding = sum(max(lengths[i] for i in b) * 8 - sum(lengths[i] for i in b) for b in plain)
    assert padding < random_padding / 4  # sorted within pools: little padding
    firsts = [batch[0] for batch in epoch]
    assert firsts != sorted(firsts, key=lambda i: lengths[i])  # the order is still random


def test_a_group_is_drawn_into_one_micro_batch() -> None:
    """A judge prompt's two orders (one group) land in the same micro-batch."""
    lengths = [10 + (i // 2) % 40 for i in range(200)]
    groups = [f"pair-{i // 2}" for i in range(200)]
    batches = micro_batches(lengths, 8, seed=5, groups=groups)
    epoch = [next(batches) for _ in range(25)]
    assert Counter(i for batch in epoch for i in batch) == Counter(range(200))
    for batch in epoch:
        assert {groups[i] for i in batch} == {groups[i ^ 1] for i in batch}


def test_fewer_examples_than_a_micro_batch_are_repeated() -> None:
    batch = next(micro_batches([3, 4, 5], 8, seed=0))
    assert len(batch) == 8 and set(batch) == {0, 1, 2}


def test_a_run_with_the_head_on_labelled_positions_trains_as_the_full_head(
    tmp_path: Path,
) -> None:
    """The same batches (no length buckets), the same seed: `train_lora` gives the same loss
    at every step whether the LM head runs everywhere (transformers' loss) or on the labelled
    positions only."""
    import json

    from training.finetune import LoraRecipe, train_lora
    from training.mixtures import monolingual, write_mixture
    from training.parallel import load_parallel
    from training.tiny_model import build_tiny_llama

    sample = Path("examples/sample_parallel.jsonl")
    data = load_parallel(sample)
    folder = write_mixture(data, monolingual(data, "es"), tmp_path / "mixtures", str(sample))
    base = build_tiny_llama(tmp_path / "base")
    losses = {}
    for logits in ("all", "labelled"):
        recipe = LoraRecipe(
            steps=12, learning_rate=3e-3, batch_size=8, rank=8, dev_size=3, eval_every=12,
            eval_max_new_tokens=2, logits=logits, length_buckets=False,
        )  # fmt: skip
        run = tmp_path / logits
        result = train_lora(folder, base, run, recipe)
        assert (result.adapter / "adapter_config.json").is_file()
        log = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
        losses[logits] = [row["loss"] for row in log if "loss" in row]
    assert len(losses["all"]) == 12
    assert losses["all"][-1] < losses["all"][0]  # it learns
    assert losses["labelled"] == pytest.approx(losses["all"], rel=1e-3)
