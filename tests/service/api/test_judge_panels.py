"""Judge panels through the real app: three scripted judges with known disagreements give the
hand-computed majority outcomes, per-judge statistics and kappas; a fourth judge added to a
finished comparison is the only one called; a panel that cannot be formed is refused before
any call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from tests.openai_stub import Policy, answers_in, is_judge_prompt
from tests.service.comparison_api import wait
from tests.service.fakes import Backends, answer, scripted_judges, settings

# Six instructions; model A ('good') answers "Answer: …", model B ('bad') mumbles m's.
TEXTS = ["Name a fruit.", "Name a river.", "Name a planet.", "Name a metal.", "Name a bird.",
         "Name a tree."]  # fmt: skip
# What each judge does with each instruction: pick A's answer ('good'), B's ('bad'), always
# Answer1 ('first'), or answer no verdict at all ('mumble').
SCRIPTS = {
    "j1": ["good", "good", "bad", "good", "first", "good"],
    "j2": ["good", "bad", "bad", "mumble", "first", "mumble"],
    "j3": ["good", "good", "first", "bad", "good", "mumble"],
    "j4": ["bad", "bad", "bad", "bad", "bad", "bad"],
}
# By hand, per order (AB: A shown first; BA: B shown first), the valid verdicts and their
# majority ('-': none):
#   1: AB 1,1,1 → 1   BA 2,2,2 → 2   A picked twice: win
#   2: AB 1,2,1 → 1   BA 2,1,2 → 2   win
#   3: AB 2,2,1 → 2   BA 1,1,1 → 1   B picked twice: loss
#   4: AB 1,·,2 → -   BA 2,·,1 → -   no majority in either order: invalid (not a tie)
#   5: AB 1,1,1 → 1   BA 1,1,2 → 1   the orders disagree: tie
#   6: AB 1,·,· → 1   BA 2,·,· → 2   j1 alone is the majority of the valid verdicts: win
PANEL_OUTCOMES = ["win", "win", "loss", "invalid", "tie", "win"]
# Each judge alone:          j1: W W L W T W   j2: W L L - T -   j3: W W T L W -
# scores (W + T/2) / valid:  j1: 4.5/6         j2: 1.5/4         j3: 3.5/5
# verdict '1' / valid:       j1: 7/12          j2: 5/8           j3: 6/10
# W or L / valid pairs:      j1: 5/6           j2: 3/4           j3: 4/5
JUDGES = {
    "j1": (75.0, 4, 1, 1, 0, 100 * 5 / 6, 100 * 7 / 12),
    "j2": (37.5, 1, 1, 2, 2, 75.0, 62.5),
    "j3": (70.0, 3, 1, 1, 1, 80.0, 60.0),
}
# Cohen's kappa = (p_o - p_e) / (1 - p_e) over the pairs both judged validly:
#   j1–j2 (pairs 1,2,3,5): W W L T vs W L L T: p_o 3/4, p_e (2·1 + 1·2 + 1·1)/16 = 5/16 → 7/11
#   j1–j3 (pairs 1-5): W W L W T vs W W T L W: p_o 2/5, p_e (3·3 + 1·1 + 1·1)/25 = 11/25 → -1/14
#   j2–j3 (pairs 1,2,3,5): W L L T vs W W T W: p_o 1/4, p_e (1·3 + 2·0 + 1·1)/16 = 1/4 → 0
COHEN = [("j1", "j2", 7 / 11, 4), ("j1", "j3", -1 / 14, 5), ("j2", "j3", 0.0, 4)]
# Fleiss' kappa over the pairs all three judged validly (1, 2, 3, 5), labels (W, T, L) counts:
#   1: (3,0,0) P=1   2: (2,0,1) P=1/3   3: (0,1,2) P=1/3   5: (1,2,0) P=1/3   → P̄ = 1/2
#   p_W = 6/12, p_T = 3/12, p_L = 3/12 → P_e = 3/8 → κ = (1/2 - 3/8) / (5/8) = 1/5
FLEISS = (0.2, 4)


def scripted(model: str) -> Policy:
    def policy(prompt: str) -> str:
        if not is_judge_prompt(prompt):
            return "1"
        item = next(i for i, text in enumerate(TEXTS) if text in prompt)
        action = SCRIPTS[model][item]
        first, _ = answers_in(prompt)
        a_first = first == answer("good", TEXTS[item])
        return {
            "good": "1" if a_first else "2",
            "bad": "2" if a_first else "1",
            "first": "1",
            "mumble": "Both are fine.",
        }[action]

    return policy


@pytest.fixture
def backends() -> Backends:
    backends = Backends()
    backends.judge_policies = {model: scripted(model) for model in SCRIPTS}
    return backends


@pytest.fixture
def client(tmp_path: Path, backends: Backends) -> Iterator[TestClient]:
    judges = scripted_judges(SCRIPTS)
    app = create_app(settings(tmp_path, judges=judges, default_judge="j1"), backends.transport())
    with TestClient(app) as client:
        yield client


def request(judges: list[str], items: range = range(6)) -> dict[str, object]:
    instructions = [{"id": str(i + 1), "text": TEXTS[i]} for i in items]
    return {"model_a": "good", "model_b": "bad", "language": "en", "judges": judges,
            "instructions": instructions}  # fmt: skip


def test_three_judges_give_the_hand_computed_majorities_scores_and_kappas(
    client: TestClient,
) -> None:
    job = client.post("/v1/comparisons", json=request(["j1", "j2", "j3"])).json()
    assert job["judge"] == "j1 + j2 + j3"
    done = wait(client, job["id"], {"done", "failed"})
    assert done["status"] == "done", done["error"]
    summary = done["summary"]
    assert (summary["wins"], summary["ties"], summary["losses"], summary["invalid"]) == (3, 1, 1, 1)
    assert summary["score"] == pytest.approx(100 * 3.5 / 5)
    # the panel's own verdicts: '1' in 6 of 10, and 4 of its 5 valid pairs not a tie
    assert summary["first_position_preference"] == pytest.approx(60.0)
    assert summary["order_consistency"] == pytest.approx(80.0)

    panel = summary["panel"]
    assert panel["orders_without_majority"] == 2
    assert [judge["judge"] for judge in panel["judges"]] == ["j1", "j2", "j3"]
    for judge in panel["judges"]:
        score, wins, ties, losses, invalid, consistency, first = JUDGES[judge["judge"]]
        assert judge["score"] == pytest.approx(score)
        assert (judge["wins"], judge["ties"], judge["losses"], judge["invalid"]) == (
            wins, ties, losses, invalid)  # fmt: skip
        assert judge["order_consistency"] == pytest.approx(consistency)
        assert judge["first_position_preference"] == pytest.approx(first)
        assert judge["ci_low"] <= judge["score"] <= judge["ci_high"]
    cohen = [(k["judge_1"], k["judge_2"], k["kappa"], k["pairs"]) for k in panel["cohen_kappa"]]
    assert cohen == [(a, b, pytest.approx(kappa), n) for a, b, kappa, n in COHEN]
    fleiss = panel["fleiss_kappa"]
    assert (fleiss["kappa"], fleiss["pairs"]) == (pytest.approx(FLEISS[0]), FLEISS[1])

    items = client.get(f"/v1/comparisons/{job['id']}/items").json()["items"]
    assert [item["outcome"] for item in items] == PANEL_OUTCOMES
    fourth = items[3]  # no majority: invalid, and every judge's vote is there to read
    assert fourth["ab"] is None and fourth["score"] is None
    assert {j: vote["outcome"] for j, vote in fourth["panel"].items()} == {
        "j1": "win", "j2": "invalid", "j3": "loss"}  # fmt: skip
    assert fourth["panel"]["j2"]["ab"]["raw"] == "Both are fine."


def test_a_fourth_judge_added_to_a_finished_comparison_is_the_only_one_called(
    client: TestClient, backends: Backends
) -> None:
    valid = range(3)  # the items all three judges judge validly
    first = client.post("/v1/comparisons", json=request(["j1", "j2", "j3"], valid)).json()
    assert wait(client, first["id"], {"done", "failed"})["status"] == "done"
    calls, generations = dict(backends.judge_calls), dict(backends.generations)
    assert calls == {"j1": 6, "j2": 6, "j3": 6}  # 3 pairs, both orders

    four = request(["j1", "j2", "j3", "j4"], valid)
    second = client.post("/v1/comparisons", json=four).json()
    assert second["id"] != first["id"]
    done = wait(client, second["id"], {"done", "failed"})
    assert done["status"] == "done", done["error"]
    assert dict(backends.judge_calls) == calls | {"j4": 6}
    assert dict(backends.generations) == generations
    # j4 picks B everywhere: pair 1 is still won 3 to 1 in each order, pair 2 splits 2 to 2
    # in both orders (invalid), pair 3 is lost as before
    summary = done["summary"]
    assert (summary["wins"], summary["ties"], summary["losses"], summary["invalid"]) == (1, 0, 1, 1)
    assert [judge["judge"] for judge in summary["panel"]["judges"]] == ["j1", "j2", "j3", "j4"]
    assert summary["panel"]["judges"][3]["score"] == 0.0


@pytest.mark.parametrize(
    ("body", "status", "field", "message"),
    [
        ({"judges": ["j1", "nobody"]}, 404, "judges", "judge 'nobody' is not configured"),
        ({"judges": ["j1"]}, 422, "judges", "a panel needs at least two judges"),
        ({"judges": ["j1", "j2", "j1"]}, 422, "judges", "names judge 'j1' twice"),
        ({"judges": ["j1", "j2"], "judge": "j3"}, 422, None, "judge (one judge) or judges"),
        ({"judges": ["j1", "j2"], "language_policy": "strict"}, 422, "language_policy",
         "off_language_loses"),
    ],
)  # fmt: skip
def test_a_panel_that_cannot_be_formed_is_refused_before_any_call(
    client: TestClient,
    backends: Backends,
    body: dict[str, object],
    status: int,
    field: str | None,
    message: str,
) -> None:
    answer = client.post("/v1/comparisons", json={**request(["j1", "j2"]), **body})
    assert answer.status_code == status
    error = answer.json()["error"]
    assert message in error["message"]
    if field is not None:
        assert error["field"] == field
    assert not backends.judge_calls and not backends.generations
