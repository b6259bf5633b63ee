"""The controlled scores of a comparison through the real app: a generator that answers some
items in English changes the language-controlled score exactly as the policy says; the
length-controlled score is reported beside the raw one; a policy that does not exist is a 422."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from generators.eval_sets import read_eval_set
from service.app import create_app
from service.settings import SAMPLE_EVAL_SET
from tests.service.comparison_api import SPANISH, wait
from tests.service.fakes import Backends, expected_outcome, settings, wanders

POINTS = {"win": 1.0, "tie": 0.5, "loss": 0.0}


def test_an_off_language_response_loses_its_pair(client: TestClient) -> None:
    request = {"model_a": "wanderer", "model_b": "spanish", "language": "es"}
    job = client.post("/v1/comparisons", json=request).json()
    summary = wait(client, job["id"], {"done"})["summary"]

    raw = [expected_outcome(text, "wanderer", "spanish") for text in SPANISH]
    by_policy = zip(SPANISH, raw, strict=True)
    controlled = ["loss" if wanders(text) else outcome for text, outcome in by_policy]
    wandered = sum(wanders(text) for text in SPANISH)
    assert 0 < wandered < len(SPANISH) and "win" in raw  # the policy has something to change
    assert summary["score"] == pytest.approx(100 * sum(POINTS[o] for o in raw) / len(raw))
    assert summary["language_controlled"] == pytest.approx(
        100 * sum(POINTS[o] for o in controlled) / len(controlled)
    )
    assert summary["language_controlled"] < summary["score"]
    assert summary["off_language_a"] == pytest.approx(100 * wandered / len(SPANISH))
    assert summary["off_language_b"] == 0
    low, high = summary["language_controlled_ci_low"], summary["language_controlled_ci_high"]
    assert low <= summary["language_controlled"] <= high
    # the length-controlled score is computed when the job ends, with its CI
    assert summary["length_controlled_ci_low"] <= summary["length_controlled"]
    assert summary["length_controlled"] <= summary["length_controlled_ci_high"]


def test_no_language_check_when_the_policy_is_none(client: TestClient) -> None:
    request = {"model_a": "wanderer", "model_b": "spanish", "language": "es"}
    job = client.post("/v1/comparisons", json=request | {"language_policy": "none"}).json()
    summary = wait(client, job["id"], {"done"})["summary"]
    assert summary["language_controlled"] is None and summary["off_language_a"] is None
    assert summary["score"] is not None


def test_a_policy_that_does_not_exist_is_refused(client: TestClient) -> None:
    request = {"model_a": "good", "model_b": "bad", "language": "es", "language_policy": "strict"}
    answer = client.post("/v1/comparisons", json=request)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["field"] == "language_policy"
    assert "off_language_loses" in error["message"] and "none" in error["message"]


def test_a_subtagged_language_is_checked_by_its_primary_subtag(
    tmp_path: Path, backends: Backends
) -> None:
    """A zh-Hans comparison (the audit's probe): 'wanderer' answers in English or Spanish, every
    response off-language, 'chinese' in Chinese, none; the language-controlled score differs
    from the raw one (it equalled it when zh-Hans was not recognised)."""
    chinese = tmp_path / "zh-hans.jsonl"
    items = read_eval_set(SAMPLE_EVAL_SET)
    chinese.write_text(
        "".join(json.dumps({"id": i.id, "text": {"zh-Hans": i.text["zh"]}}) + "\n" for i in items),
        encoding="utf-8",
    )
    eval_sets = {"sample": SAMPLE_EVAL_SET, "hans": chinese}
    app = create_app(settings(tmp_path, eval_sets=eval_sets), transport=backends.transport())
    with TestClient(app) as client:
        request = {"model_a": "wanderer", "model_b": "chinese", "language": "zh-Hans",
                   "eval_set": "hans"}  # fmt: skip
        answer = client.post("/v1/comparisons", json=request)
        assert answer.status_code == 202, answer.text
        summary = wait(client, answer.json()["id"], {"done"})["summary"]
    assert summary["off_language_a"] == 100 and summary["off_language_b"] == 0
    assert summary["language_controlled"] == 0  # every pair of A lost
    assert summary["score"] > 0  # the fake judge prefers the longer English or Spanish text


def test_a_score_resting_on_few_valid_pairs_carries_a_warning(
    client: TestClient, backends: Backends
) -> None:
    """One valid pair of 12 gives a score (100) and says what it rests on."""
    first = SPANISH[0]
    backends.judge_policies["judge"] = lambda prompt: "1" if first in prompt else "maybe"
    job = client.post("/v1/comparisons", json={"model_a": "good", "model_b": "bad",
                                               "language": "es"}).json()  # fmt: skip
    view = wait(client, job["id"], {"done"})
    summary = view["summary"]
    assert summary["pairs"] - summary["invalid"] == 1 and summary["score"] is not None
    assert view["warning"] == (
        f"the score rests on 1 valid pairs of {len(SPANISH)} (below 50%): the judge gave no "
        f"verdict for {len(SPANISH) - 1}; read the raw outputs in /items before trusting it"
    )


def test_a_reference_judge_without_references_is_refused_at_submission(
    client: TestClient, backends: Backends
) -> None:
    instructions = [{"id": "1", "text": "Name a colour.", "reference": "Red."},
                    {"id": "2", "text": "Name a fruit."}]  # fmt: skip
    request = {"model_a": "good", "model_b": "bad", "language": "en", "judge": "reference",
               "instructions": instructions}  # fmt: skip
    answer = client.post("/v1/comparisons", json=request)
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["type"] == "missing_reference" and error["field"] == "reference"
    assert "1 of 2 items have none in 'en' (e.g. item '2')" in error["message"]
    assert not backends.generations  # no job ran
    with_references = request | {"instructions": [instructions[0]]}
    assert client.post("/v1/comparisons", json=with_references).status_code == 202
