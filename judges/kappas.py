"""Agreement between the judges of a panel, beyond chance: Cohen's kappa for every two judges
(scikit-learn) and Fleiss' kappa for the whole panel (statsmodels).

The unit rated is a pair, the label its outcome for A (win, tie or loss) under that judge.
Pairs of identical responses are left out (no judge saw them; counting their ties would make
judges look in agreement), and so are a judge's invalid pairs: Cohen's kappa of two judges is
over the pairs both judged validly, Fleiss' kappa over the pairs every judge judged validly.
A kappa is undefined (None) without such a pair, or when chance alone predicts all of the
agreement (every label the same).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from judges.verdicts import Outcome

LABELS = [Outcome.WIN.value, Outcome.TIE.value, Outcome.LOSS.value]


@dataclass(frozen=True, slots=True)
class JudgeKappa:
    """Cohen's kappa of two judges over the `pairs` both judged validly."""

    judge_1: str
    judge_2: str
    kappa: float | None
    pairs: int


@dataclass(frozen=True, slots=True)
class PanelKappa:
    """Fleiss' kappa of the panel over the `pairs` every judge judged validly."""

    kappa: float | None
    pairs: int


def _defined(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def cohen_kappas(outcomes: Mapping[str, Sequence[Outcome]]) -> list[JudgeKappa]:
    """Every two judges' kappa, in the order the judges are given; `outcomes` holds each
    judge's outcomes for the same pairs, in the same order."""
    from sklearn.metrics import cohen_kappa_score

    found = []
    for first, second in combinations(outcomes, 2):
        both = [
            (a.value, b.value)
            for a, b in zip(outcomes[first], outcomes[second], strict=True)
            if Outcome.INVALID not in (a, b)
        ]
        kappa = None
        if both:
            labels_1, labels_2 = zip(*both, strict=True)
            with warnings.catch_warnings():  # undefined: nan, reported as None
                warnings.simplefilter("ignore")
                kappa = _defined(cohen_kappa_score(labels_1, labels_2, labels=LABELS))
        found.append(JudgeKappa(first, second, kappa, len(both)))
    return found


def fleiss(outcomes: Mapping[str, Sequence[Outcome]]) -> PanelKappa:
    """The panel's kappa; `outcomes` as for `cohen_kappas`."""
    import numpy as np
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    rated = [
        [LABELS.index(outcome.value) for outcome in row]
        for row in zip(*outcomes.values(), strict=True)
        if Outcome.INVALID not in row
    ]
    if not rated:
        return PanelKappa(None, 0)
    table, _ = aggregate_raters(np.array(rated), n_cat=len(LABELS))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PanelKappa(_defined(fleiss_kappa(table, method="fleiss")), len(rated))
