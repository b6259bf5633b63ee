"""The judge report card: every figure against a hand count (the length slope against a fit
written here), the real PandaLM, FairEval and LLMBar files, and bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from judges.public_labels import faireval, llmbar, pandalm, pandalm_gpt35
from judges.report_card import read_card_records, report_card
from judges.usage import JudgePrices
from service.cli import app


def call(verdict: str | None) -> dict[str, Any]:
    return {"raw": verdict or "?", "verdict": verdict, "prompt_tokens": 120,
            "completion_tokens": 2}  # fmt: skip


# id: (judge label, ab, ba, length A, length B, model A, model B, human label)
PAIRS = {
    "1": ("1", "1", "2", 200, 100, "x", "y", "1"),
    "2": ("2", "2", "1", 100, 300, "y", "x", "2"),
    "3": ("tie", "1", "1", 50, 60, "y", "z", "1"),
    "4": ("1", "1", "2", 400, 100, "x", "y", "tie"),
    "5": (None, None, "2", 70, 80, "x", "y", "2"),
    "6": ("2", "2", "1", 90, 10, "z", "y", "2"),
    "7": ("1", "1", "2", 30, 20, "x", "z", "2"),
    "8": ("2", "2", "1", 10, 50, "z", "x", "1"),
}


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def files(folder: Path) -> tuple[Path, Path]:
    judge = [
        {"id": key, "label": label, "ab": call(ab), "ba": call(ba), "length_a": la,
         "length_b": lb, "model_a": ma, "model_b": mb}
        for key, (label, ab, ba, la, lb, ma, mb, _) in PAIRS.items()
    ]  # fmt: skip
    human = [{"id": key, "label": row[-1]} for key, row in PAIRS.items()]
    return write(folder / "judge.jsonl", judge), write(folder / "human.jsonl", human)


def logistic_slope(x: list[float], y: list[float]) -> float:
    """The maximum-likelihood slope of P(y = 1) = sigmoid(a + b x), by Newton's method here."""
    design = np.column_stack([np.ones(len(x)), np.array(x)])
    theta, target = np.zeros(2), np.array(y)
    for _ in range(50):
        p = 1 / (1 + np.exp(-design @ theta))
        hessian = design.T @ (design * (p * (1 - p))[:, None])
        theta = theta + np.linalg.solve(hessian, design.T @ (target - p))
    return float(theta[1])


def test_every_figure_of_a_card_by_hand(tmp_path: Path) -> None:
    judge, human = files(tmp_path)
    prices = JudgePrices(prompt_per_million=0.5, completion_per_million=2.0)
    card = report_card(
        read_card_records(judge), read_card_records(human), judge_model="x", prices=prices
    )
    # agreement over the 7 pairs both label: 1 + 1 + .5 + .5 + 1 + 0 + 0
    assert card.agreement.n == 7
    assert card.agreement.percent == pytest.approx(100 * 4 / 7)
    assert card.agreement.ci_low <= card.agreement.percent <= card.agreement.ci_high
    # kappa: observed 3/7 same labels; chance (3·3 + 3·3 + 1·1) / 49
    chance = 19 / 49
    assert card.kappa == pytest.approx((3 / 7 - chance) / (1 - chance))
    assert (card.invalid, card.invalid_rate) == (1, 12.5)
    assert card.behaviour is not None
    assert card.behaviour.first_position_preference == pytest.approx(100 * 8 / 15)
    assert card.behaviour.order_consistency == pytest.approx(100 * 6 / 7)
    # decisive pairs of unequal length: 1 2 4 6 7 8; the judge picks the longer in all but 6,
    # the humans (decisive on 1 2 6 7 8) in 1 and 2
    length = card.length
    assert length is not None and length.pairs == 6
    assert length.judge_longer_wins == pytest.approx(100 * 5 / 6)
    assert length.labels_longer_wins == pytest.approx(100 * 2 / 5)
    ratios = [(200, 100, 1), (100, 300, 0), (400, 100, 1), (90, 10, 0), (30, 20, 1), (10, 50, 0)]
    expected = logistic_slope([math.log(a / b) for a, b, _ in ratios], [y for *_, y in ratios])
    assert length.slope == pytest.approx(expected, rel=1e-3)
    assert length.slope_ci is not None and length.slope_ci[0] < expected < length.slope_ci[1]
    # x is compared in 1 2 4 7 8: the judge gives it every pair, the humans 1 + 1 + .5 + 0 + 0
    own = card.self_preference
    assert own is not None and (own.model, own.pairs) == ("x", 5)
    assert (own.judge_score, own.labels_score, own.excess) == (100.0, 50.0, 50.0)
    # 8 pairs of two calls of 120 + 2 tokens
    cost = card.cost
    assert cost is not None and cost.pairs == 8
    assert (cost.prompt_tokens_per_1000, cost.completion_tokens_per_1000) == (240_000, 4_000)
    assert cost.price_per_1000 == pytest.approx(240_000 * 0.5e-6 + 4_000 * 2e-6)
    assert card.gaps == []


def test_the_command_writes_the_card_and_names_what_it_cannot_measure(tmp_path: Path) -> None:
    judge, human = files(tmp_path)
    result = CliRunner().invoke(
        app, ["judges", "report", str(judge), str(human), "--out", str(tmp_path / "card")]
    )
    assert result.exit_code == 0, result.output
    assert "| agreement (Appendix D, 95% CI) | 57.1% [" in result.output
    assert {path.name for path in (tmp_path / "card").iterdir()} == {
        "card.json", "card.md", "card.png"
    }  # fmt: skip
    data = json.loads((tmp_path / "card" / "card.json").read_text("utf-8"))
    assert data["cost"]["price_per_1000"] is None  # no prices: no price, said so
    assert data["self_preference"] is None
    assert any(gap.startswith("price: no prices") for gap in data["gaps"])
    assert any(gap.startswith("self-preference: no --judge-model") for gap in data["gaps"])
    assert "## Not measured" in (tmp_path / "card" / "card.md").read_text("utf-8")


def test_bad_input_is_refused_with_what_to_fix(tmp_path: Path) -> None:
    judge, human = files(tmp_path)
    unlabelled = write(tmp_path / "verdicts.jsonl", [{"id": "1", "verdict": "A"}])
    document = tmp_path / "matrix.json"
    document.write_text(json.dumps({"cells": []}, indent=2), encoding="utf-8")
    cases = {
        (str(unlabelled), str(human)): "verdicts.jsonl:1: field 'label'",
        (str(document), str(human)): "looks like one JSON document",
        (str(judge), str(human), "--prompt-price", "1"): "give both --prompt-price and",
        (str(judge), str(tmp_path / "absent.jsonl")): "absent.jsonl",
    }
    for arguments, message in cases.items():
        result = CliRunner().invoke(app, ["judges", "report", *arguments])
        assert result.exit_code == 2, result.output
        assert message in result.output
    other = write(tmp_path / "other.jsonl", [{"id": "99", "label": "1"}])
    result = CliRunner().invoke(app, ["judges", "report", str(judge), str(other)])
    assert result.exit_code == 2 and "share no labelled id" in result.output


def test_pandalm_gpt35_card_equals_sxs_agreement(tmp_path: Path, shared_data: Path) -> None:
    folder = shared_data / "human_judgments" / "pandalm"
    human = write(tmp_path / "human.jsonl", pandalm(folder / "testset-v1.json"))
    gpt = pandalm_gpt35(folder / "gpt-3.5-turbo-testset-v1.json", folder / "testset-v1.json")
    judge = write(tmp_path / "gpt35.jsonl", gpt)
    card = CliRunner().invoke(app, ["judges", "report", str(judge), str(human), "--json"])
    agreement = CliRunner().invoke(app, ["agreement", str(judge), str(human), "--json"])
    assert card.exit_code == 0 and agreement.exit_code == 0, card.output + agreement.output
    data, expected = json.loads(card.stdout), json.loads(agreement.stdout)
    assert data["agreement"]["n"] == expected["n"] == 974  # 25 "garbage" verdicts: invalid
    assert data["agreement"]["percent"] == pytest.approx(expected["agreement"])
    assert round(data["agreement"]["percent"], 1) == 77.7
    assert data["invalid"] == 25
    assert data["behaviour"] is None  # one verdict a pair: position bias is a named gap
    assert any(gap.startswith("position bias") for gap in data["gaps"])
    assert 50 < data["length"]["judge_longer_wins"] < 100 and data["length"]["slope"] > 0


def test_faireval_and_llmbar_read_as_their_raw_files_say(shared_data: Path) -> None:
    folder = shared_data / "human_judgments"
    raw = (folder / "faireval" / "raw" / "review_gpt35_vicuna-13b_human.txt").read_text("utf-8")
    codes = {"CHATGPT": "1", "VICUNA13B": "2", "TIE": "tie"}
    pairs = faireval(folder / "faireval" / "faireval_vicuna80_human.jsonl")
    assert [pair["label"] for pair in pairs] == [codes[line] for line in raw.split()]
    assert {pair["model_b"] for pair in pairs} == {"vicuna-13b"}
    natural = json.loads((folder / "llmbar" / "LLMBar_Natural.json").read_text("utf-8"))
    pairs = llmbar(folder / "llmbar" / "LLMBar_Natural.json")
    assert [pair["label"] for pair in pairs] == [str(row["label"]) for row in natural]
    assert [pair["response_b"] for pair in pairs] == [row["output_2"] for row in natural]


def test_a_card_on_llmbar_names_a_fit_it_could_not_make(tmp_path: Path, shared_data: Path) -> None:
    """A judge that always picks the longer answer: 100% longer-wins, and a slope that cannot
    be fitted (perfect separation) is a named gap, not a number."""
    pairs = llmbar(shared_data / "human_judgments" / "llmbar" / "LLMBar_Natural.json")
    human = write(tmp_path / "gold.jsonl", pairs)
    longer = [pair | {"label": "1" if len(pair["response_a"]) > len(pair["response_b"]) else "2"}
              for pair in pairs]  # fmt: skip
    card = report_card(read_card_records(write(tmp_path / "longer.jsonl", longer)),
                       read_card_records(human))  # fmt: skip
    assert card.agreement.n == 100 and card.length is not None
    assert card.length.judge_longer_wins == 100.0 and card.length.slope is None
    assert any(gap.startswith("length slope") for gap in card.gaps)
