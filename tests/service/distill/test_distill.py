"""`sxs judges distill`: the teacher's verdicts read from a real store, the errors that stop it
before training, and a judge adapter trained on a tiny Llama and registered beside the
generators; its held-out file is what `sxs agreement` reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from typer.testing import CliRunner

from generators.registry import load_registry
from judges.errors import JudgeDistillationError
from service.cli import app
from service.distill.teacher import teacher_pairs
from service.jobs.envelope import COMPARISON, JobSpec
from service.jobs.store import JobStore
from training.tiny_model import TinyLlamaShape, build_tiny_llama

runner = CliRunner()
MODELS = ("mono-en", "mono-fi", "mono-zh")
ANSWERS = {"mono-en": "The answer is {i}.", "mono-fi": "Vastaus on {i}.", "mono-zh": "答案是{i}。"}


def call(verdict: str | None) -> dict[str, Any] | None:
    return None if verdict is None else {"raw": verdict, "verdict": verdict}


def record(
    item: int, a: str, b: str, ab: str | None, ba: str | None, panel: bool
) -> dict[str, Any]:
    calls = {"ab": call(ab), "ba": call(ba)}
    if panel:  # the teacher's votes sit under its name; the other judge disagrees
        calls = {"ab": None, "ba": None, "panel": {
            "reference": {"outcome": "win", **calls},
            "other": {"outcome": "loss", "ab": call("2"), "ba": call("1")},
        }}  # fmt: skip
    return {
        "id": str(item),
        "instruction": f"question {item}",
        "response_a": ANSWERS[a].format(i=item),
        "response_b": ANSWERS[b].format(i=item),
    } | calls


def write_store(
    path: Path, verdicts: str = "prefers en", panel_language: str | None = None
) -> None:
    """Comparison jobs of every two models in en and fi on 9 items, judged by `reference`
    (in `panel_language`, by a panel holding it) and one job judged by `other` alone."""

    def teacher(a: str, b: str) -> tuple[str, str]:
        if verdicts == "always 1":
            return "1", "1"
        return ("1", "2") if a == "mono-en" else ("2", "1")

    async def fill() -> None:
        store = JobStore(path)
        for language in ("en", "fi"):
            judge = "reference + other" if language == panel_language else "reference"
            for index, a in enumerate(MODELS):
                for b in MODELS[index + 1 :]:
                    request = {"model_a": a, "model_b": b, "language": language}
                    job, _ = await store.submit(JobSpec(COMPARISON, request, judge, "t", 9))
                    for item in range(9):
                        ab, ba = teacher(a, b)
                        line = record(item, a, b, ab, ba, judge != "reference")
                        await store.add_item(job, item, str(item), line)
        request = {"model_a": "mono-en", "model_b": "mono-fi", "language": "zh"}
        job, _ = await store.submit(JobSpec(COMPARISON, request, "other", "t", 1))
        await store.add_item(job, 0, "0", record(0, "mono-en", "mono-fi", "2", "1", False))

    anyio.run(fill)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("judge-base") / "base"
    return build_tiny_llama(folder, TinyLlamaShape(hidden_size=64, intermediate_size=128))


def test_the_teachers_pairs_come_from_single_and_panel_jobs(tmp_path: Path) -> None:
    db = tmp_path / "sxs.db"
    write_store(db, panel_language="fi")
    pairs = teacher_pairs(db, "reference")
    assert len(pairs) == 2 * 3 * 9  # two languages, three model pairs, nine items
    by_id = {pair.id: pair for pair in pairs}
    fi = by_id["fi:4:mono-en:mono-zh"]  # from the panel: the teacher's own votes
    assert (fi.ab, fi.ba, fi.response_b) == ("1", "2", "答案是4。")
    assert by_id["en:4:mono-fi:mono-zh"].outcome.value == "loss"
    assert {p.language for p in teacher_pairs(db, "reference", {"fi"})} == {"fi"}
    assert len(teacher_pairs(db, "other")) == 2 * 3 * 9 // 2 + 1  # its panel in fi, its zh job
    with pytest.raises(JudgeDistillationError, match="no comparison judged by 'gpt'"):
        teacher_pairs(db, "gpt")
    with pytest.raises(JudgeDistillationError, match="does not exist"):
        teacher_pairs(tmp_path / "none.db", "reference")


def distill(db: Path, base: Path, out: Path, *extra: str) -> Any:
    args = ["judges", "distill", "--db", str(db), "--teacher", "reference", "--base", str(base)]
    return runner.invoke(app, [*args, "--out", str(out), *extra])


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("no base", "has no config.json"),
        ("no verdicts", "holds no comparison judged by 'reference'"),
        ("one position", "every verdict of judge 'reference' here is '1'"),
        ("bad name", "--name: String should match pattern"),
    ],
)
def test_bad_input_stops_before_training(
    tmp_path: Path, base: Path, problem: str, message: str
) -> None:
    db = tmp_path / "sxs.db"
    write_store(db, verdicts="always 1" if problem == "one position" else "prefers en")
    extra: list[str] = []
    if problem == "no base":
        base = tmp_path / "missing"
    if problem == "no verdicts":
        extra = ["--languages", "zh"]
    if problem == "bad name":
        extra = ["--name", "../judge"]
    result = distill(db, base, tmp_path / "out", *extra)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "out" / "run").exists()


def test_a_judge_adapter_is_trained_registered_and_kept(tmp_path: Path, base: Path) -> None:
    db, out, registry = tmp_path / "sxs.db", tmp_path / "distilled", tmp_path / "models.toml"
    write_store(db)
    registry.write_text(f'base_model = "{base}"\n', "utf-8")
    options = ["--registry", str(registry), "--steps", "4", "--name", "judge-small"]
    first = distill(db, base, out, *options)
    assert first.exit_code == 0, first.output
    assert "registered adapter 'judge-small'" in first.output
    adapter = load_registry(registry).adapters["judge-small"]
    assert (registry.parent / adapter.path).resolve() == (out / "run" / "adapter").resolve()
    report = json.loads((out / "distill.json").read_text("utf-8"))
    assert adapter.revision == report["revision"]
    assert len(report["held_out_items"]) == 3
    held = [json.loads(line) for line in (out / "held_out.jsonl").read_text("utf-8").splitlines()]
    assert {line["item"] for line in held} == set(report["held_out_items"])
    assert len(held) == 3 * 2 * 3  # held-out items × languages × model pairs
    trained_on = (out / "train-set" / "mixture.jsonl").read_text("utf-8")
    assert not any(f"question {item}\n" in trained_on for item in report["held_out_items"])
    rows = [json.loads(line) for line in trained_on.splitlines()]
    assert sum(row["response"] == "1" for row in rows) == len(rows) / 2  # balanced
    assert report["train_examples"] == len(rows) == 6 * 2 * 3 * 2  # items × langs × pairs × 2

    agreement = runner.invoke(app, ["agreement", str(out / "held_out.jsonl"),
                                    str(out / "held_out.jsonl")])  # fmt: skip
    assert agreement.exit_code == 0, agreement.output
    assert "agreement 100.0%" in agreement.output
    assert "exact match per order 100.0%  orders=36" in agreement.output
    assert "first-position preference 50.0%" in agreement.output

    again = distill(db, base, out, *options)
    assert again.exit_code == 0, again.output
    assert "kept the finished run" in again.output and "registered" not in again.output
