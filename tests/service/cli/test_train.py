"""LoRA fine-tuning on CPU with a tiny Llama built here; nothing is downloaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from generators.registry import load_registry
from service.cli import app
from service.cli.console import QUIET_ENVIRONMENT
from training.mixtures import monolingual, write_mixture
from training.parallel import ParallelRecord, ParallelSet
from training.rouge import rouge_l
from training.tiny_model import TinyLlamaShape, build_tiny_llama

runner = CliRunner()
SXS = Path(sys.executable).parent / "sxs"
FAST = [
    "--steps",
    "60",
    "--learning-rate",
    "3e-3",
    "--batch-size",
    "8",
    "--micro-batch-size",
    "8",
    "--dev-size",
    "8",
    "--eval-every",
    "20",
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("train")
    build_tiny_llama(folder / "base", TinyLlamaShape(hidden_size=64, intermediate_size=128))
    languages = ("fi", "sw")
    records = [
        ParallelRecord(
            id=str(i),
            instruction={"fi": f"Kerro numero {i}.", "sw": f"Niambie nambari {i}."},
            response={"fi": f"Numero on {i}. Hei hei!", "sw": f"Nambari ni {i}. Kwaheri!"},
        )
        for i in range(60)
    ]
    data = ParallelSet(records, languages)
    for language in languages:
        write_mixture(data, monolingual(data, language), folder / "family", "synthetic")
    (folder / "models.toml").write_text('base_model = "base"\n# the tiny test model\n', "utf-8")
    return folder


@dataclass(frozen=True)
class Trained:
    """The `fi` adapter trained once by `sxs train` for the tests of this module."""

    run: Path
    args: list[str]
    output: str


@pytest.fixture(scope="module")
def trained(workspace: Path) -> Trained:
    run = workspace / "runs" / "fi"
    args = [
        "train",
        "--mixture",
        str(workspace / "family" / "mono-fi"),
        "--base",
        str(workspace / "base"),
        "--out",
        str(run),
        "-r",
        str(workspace / "models.toml"),
        "--name",
        "fi",
        *FAST,
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return Trained(run, args, result.output)


def test_train_one_mixture_and_register_it(workspace: Path, trained: Trained) -> None:
    run, args = trained.run, trained.args
    assert f"{workspace / 'models.toml'}: added adapter fi" in trained.output
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert manifest["last_loss"] < 0.3 * manifest["first_loss"]  # it learns
    assert (manifest["train_examples"], manifest["dev_examples"]) == (52, 8)

    logged = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
    scores = {row["step"]: row["dev_rouge_l"] for row in logged if "dev_rouge_l" in row}
    assert sorted(scores) == [20, 40, 60]
    assert manifest["best_step"] == max(scores, key=lambda step: (scores[step], -step))
    assert manifest["best_dev_rouge_l"] == max(scores.values())
    assert len([row for row in logged if "loss" in row]) == 60

    registry = load_registry(workspace / "models.toml")
    assert registry.adapter_path("fi") == (run / "adapter").resolve()
    assert "# the tiny test model" in (workspace / "models.toml").read_text()

    again = runner.invoke(app, args)
    assert again.exit_code == 0
    assert "fi: finished before, skipped" in again.output
    assert "added adapter" not in again.output


def test_the_adapter_reloads_and_changes_the_model(workspace: Path, trained: Trained) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run = trained.run
    tokenizer = AutoTokenizer.from_pretrained(workspace / "base")
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Kerro numero 7."}],
        add_generation_prompt=True,
        tokenize=True,
        return_dict=False,
    )
    ids = torch.tensor([prompt])
    expected = "Numero on 7. Hei hei!"

    def answer(model: Any) -> str:
        with torch.no_grad():
            output = model.generate(input_ids=ids, max_new_tokens=8, do_sample=False)
        return str(tokenizer.decode(output[0, len(prompt) :], skip_special_tokens=True))

    base: Any = AutoModelForCausalLM.from_pretrained(workspace / "base")
    base.eval()
    with torch.no_grad():
        before = base(input_ids=ids).logits
    untuned = answer(base)
    tuned: Any = PeftModel.from_pretrained(base, str(run / "adapter"))
    tuned.eval()
    with torch.no_grad():
        after = tuned(input_ids=ids).logits
    assert not torch.allclose(before, after, atol=1e-3)
    assert rouge_l([answer(tuned)], [expected]) > rouge_l([untuned], [expected]) + 20


def test_a_family_trains_each_mixture_once(workspace: Path) -> None:
    registry = workspace / "family.toml"
    registry.write_text('base_model = "base"\n', "utf-8")
    args = [
        "train",
        "--mixture",
        str(workspace / "family"),
        "--base",
        str(workspace / "base"),
        "--out",
        str(workspace / "family-runs"),
        "-r",
        str(registry),
        *FAST[:2],
        *FAST[2:],
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert set(load_registry(registry).adapters) == {"mono-fi", "mono-sw"}
    second = runner.invoke(app, args)
    assert second.output.count("finished before, skipped") == 2


def test_bad_input(workspace: Path, tmp_path: Path) -> None:
    base = ["--base", str(workspace / "base"), "--out", str(tmp_path / "run")]
    odd = runner.invoke(
        app,
        [
            "train",
            "--mixture",
            str(workspace / "family" / "mono-fi"),
            *base,
            "--batch-size",
            "12",
            "--micro-batch-size",
            "8",
        ],
    )
    assert odd.exit_code == 2
    assert "batch_size 12 is not a multiple of micro_batch_size 8" in odd.output
    empty = runner.invoke(app, ["train", "--mixture", str(tmp_path), *base])
    assert empty.exit_code == 2
    assert "no mixture (manifest.json)" in empty.output
    clash = tmp_path / "clash.toml"
    clash.write_text('base_model = "b"\n[adapters]\nfi = "elsewhere"\n', "utf-8")
    conflict = runner.invoke(
        app,
        [
            "train",
            "--mixture",
            str(workspace / "family" / "mono-fi"),
            "--base",
            str(workspace / "base"),
            "--out",
            str(workspace / "runs" / "fi"),
            "-r",
            str(clash),
            "--name",
            "fi",
            *FAST,
        ],
    )
    assert conflict.exit_code == 2
    assert "adapter 'fi' already points to elsewhere" in conflict.output


def test_third_party_progress_bars_and_warnings_show_only_with_verbose(workspace: Path) -> None:
    """A real `sxs train` process: transformers' "Loading weights" bar and the warnings of
    transformers / peft / torch are shown with --verbose only; sxs's own lines always."""

    def train(*verbose: str) -> str:
        out = workspace / "runs" / f"quiet{len(verbose)}"
        steps = ["--steps", "2", "--batch-size", "2", "--micro-batch-size", "2"]
        arguments = ["train", "--mixture", str(workspace / "family" / "mono-sw")]
        arguments += ["--base", str(workspace / "base"), "--out", str(out), *steps]
        arguments += ["--dev-size", "2", "--eval-every", "2"]
        environment = {
            k: v for k, v in os.environ.items() if k not in QUIET_ENVIRONMENT and k != "CI"
        }
        done = subprocess.run(
            [str(SXS), *verbose, *arguments],
            capture_output=True,
            text=True,
            env=environment,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    quiet, verbose = train(), train("--verbose")
    for noise in ("Loading weights", "FutureWarning"):
        assert noise in verbose  # what the quiet run must not show
        assert noise not in quiet
    assert quiet.splitlines()[0].startswith("mono-sw: loss "), quiet  # sxs's own line stays
