"""The panel's majority rule and its kappas: edge cases by hand, and PandaLM's three human
annotators (999 pairs) as a real case checked against the textbook formulas written out here."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from judges.kappas import cohen_kappas, fleiss
from judges.panel import majority
from judges.verdicts import Outcome, Verdict

W, T, L, X = Outcome.WIN, Outcome.TIE, Outcome.LOSS, Outcome.INVALID
ONE, TWO = Verdict.FIRST, Verdict.SECOND


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([ONE, ONE, TWO], ONE),
        ([TWO, None, TWO], TWO),
        ([ONE, None, None], ONE),  # the judges without a verdict abstain
        ([ONE, TWO], None),  # an even split is no majority
        ([ONE, ONE, TWO, TWO], None),
        ([None, None, None], None),
        ([], None),
    ],
)
def test_the_majority_of_the_valid_verdicts(
    verdicts: list[Verdict | None], expected: Verdict | None
) -> None:
    assert majority(verdicts) is expected


def test_kappas_leave_out_invalid_pairs_and_are_undefined_without_variety() -> None:
    outcomes = {"a": [W, W, X, L], "b": [W, X, T, L], "c": [W, W, W, L]}
    cohen = {(k.judge_1, k.judge_2): (k.kappa, k.pairs) for k in cohen_kappas(outcomes)}
    assert cohen[("a", "b")] == (1.0, 2)  # pairs 1 and 4 only
    assert cohen[("a", "c")] == (1.0, 3)
    panel = fleiss(outcomes)
    assert panel.pairs == 2 and panel.kappa == 1.0
    same = {"a": [W, W], "b": [W, W]}  # chance predicts all the agreement
    assert cohen_kappas(same)[0].kappa is None and fleiss(same).kappa is None
    nothing = {"a": [X, W], "b": [W, X]}
    assert cohen_kappas(nothing)[0].pairs == 0 and fleiss(nothing) == fleiss({"a": [], "b": []})
    assert fleiss(nothing).kappa is None and fleiss(nothing).pairs == 0


def textbook_fleiss(rows: list[list[str]]) -> float:
    """Fleiss (1971): P̄ = mean over subjects of (Σ n_ij² - n) / (n (n - 1)); P̄_e = Σ p_j²."""
    raters, subjects = len(rows[0]), len(rows)
    counts = [Counter(row) for row in rows]
    agreement = sum(
        (sum(n * n for n in c.values()) - raters) / (raters * (raters - 1)) for c in counts
    )
    categories = {label for row in rows for label in row}
    shares = [sum(c[label] for c in counts) / (subjects * raters) for label in categories]
    chance = sum(p * p for p in shares)
    return (agreement / subjects - chance) / (1 - chance)


def textbook_cohen(first: list[str], second: list[str]) -> float:
    """Cohen (1960): (p_o - p_e) / (1 - p_e), p_e from the two raters' own label shares."""
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    left, right = Counter(first), Counter(second)
    chance = sum(left[label] * right[label] for label in left) / (n * n)
    return (observed - chance) / (1 - chance)


def test_pandalm_annotators_match_the_textbook_kappas(shared_data: Path) -> None:
    path = shared_data / "human_judgments" / "pandalm" / "testset-v1.json"
    rows = json.loads(path.read_text("utf-8"))
    as_outcome = {0: T, 1: W, 2: L}
    names = ("annotator1", "annotator2", "annotator3")
    outcomes = {name: [as_outcome[row[name]] for row in rows] for name in names}
    labels = [[str(row[name]) for name in names] for row in rows]
    assert len(labels) == 999

    panel = fleiss(outcomes)
    assert panel.pairs == 999
    assert panel.kappa == pytest.approx(textbook_fleiss(labels), abs=1e-12)
    assert (
        panel.kappa is not None and 0.5 < panel.kappa < 1.0
    )  # real annotators: well above chance (0.864), not perfect
    for kappa in cohen_kappas(outcomes):
        first, second = names.index(kappa.judge_1), names.index(kappa.judge_2)
        expected = textbook_cohen([r[first] for r in labels], [r[second] for r in labels])
        assert kappa.pairs == 999
        assert kappa.kappa == pytest.approx(expected, abs=1e-12)
