"""Length-controlled IF score: what A would score against B at equal response lengths.

A logistic model of each pair's outcome for A (win 1, tie 0.5, loss 0) on the standardized
length difference of the two responses; the score is its prediction at zero difference
(AlpacaEval's length-controlled win rate, per comparison).

- Length unit: the log ratio of the two responses' character counts, ln((|A| + 1) / (|B| + 1)).
  A ratio is fair across scripts without a tokenizer: a script that spends k times as many
  characters on the same content multiplies both lengths by k and leaves the ratio alone
  (Chinese and Spanish answers of the same relative length get the same value, also within
  one comparison whose answers mix scripts, where standardizing a character count could not
  undo the scale: tests/judges/test_controlled_scores.py measures ≈ 34 for 50). It is
  antisymmetric (swapping A and B negates it), so zero means equal length in every script.
  It is divided by its standard deviation over the comparison's pairs (not centred: zero
  must stay "equal length").
- Fit: scikit-learn's `LogisticRegression` (newton-cg) on two weighted rows per pair, (x, 1)
  with weight s and (x, 0) with weight 1 - s, which is the Bernoulli likelihood of the
  discounted-tie outcome s (a tie is half a win and half a loss). The slope has a mild ridge
  (`C` = 10; the intercept is not penalized) so a judge that always picks the longer answer
  (perfect separation) still gets a finite fit.
- CI: percentile bootstrap over pairs (`samples` refits, numpy PCG64 seeded with `seed`).
- None when there are fewer than `MIN_PAIRS` valid pairs or every pair has the same length
  ratio (length and the intercept cannot be told apart).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

MIN_PAIRS = 5
RIDGE_C = 10.0


@dataclass(frozen=True, slots=True)
class ControlledScore:
    """A score in percent with its bootstrap 95% CI."""

    score: float
    ci_low: float
    ci_high: float


def length_difference(length_a: int, length_b: int) -> float:
    """The unstandardized length difference: ln((|A| + 1) / (|B| + 1))."""
    return math.log((length_a + 1) / (length_b + 1))


def length_controlled_score(
    outcomes: Sequence[float],
    lengths_a: Sequence[int],
    lengths_b: Sequence[int],
    *,
    samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> ControlledScore | None:
    """The score at equal length and its CI, from valid pairs' outcomes (1 / 0.5 / 0) and
    their responses' character counts."""
    import numpy as np

    if not len(outcomes) == len(lengths_a) == len(lengths_b):
        raise ValueError("one outcome and two lengths per pair")
    if len(outcomes) < MIN_PAIRS:
        return None
    pairs = zip(lengths_a, lengths_b, strict=True)
    differences = np.array([length_difference(a, b) for a, b in pairs])
    spread = float(np.std(differences))  # never the NaN of a tiny negative E[x²] − E[x]²
    if spread < 1e-9:
        return None
    x = differences / spread
    s = np.asarray(outcomes, dtype=float)
    score = _score_at_equal_length(x, s, np.ones(len(s)))
    rng = np.random.default_rng(seed)
    uniform = np.full(len(s), 1.0 / len(s))
    resampled = (rng.multinomial(len(s), uniform) for _ in range(samples))
    scores = [_score_at_equal_length(x, s, counts.astype(float)) for counts in resampled]
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(scores, [tail, 1.0 - tail])
    return ControlledScore(score, float(low), float(high))


def _score_at_equal_length(
    x: NDArray[np.float64], s: NDArray[np.float64], counts: NDArray[np.float64]
) -> float:
    """The fitted score at x = 0; `counts` are how often each pair is drawn (all 1: as is)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    features = np.concatenate([x, x])[:, None]
    labels = np.concatenate([np.ones(len(x)), np.zeros(len(x))])
    weights = np.concatenate([s * counts, (1.0 - s) * counts])
    kept = weights > 0
    if len(set(labels[kept])) < 2:  # every sampled pair won (or lost): no fit needed
        return 100.0 * float(labels[kept][0])
    model = LogisticRegression(C=RIDGE_C, solver="newton-cg")
    model.fit(features[kept], labels[kept], sample_weight=weights[kept])
    return 100.0 * float(model.predict_proba(np.zeros((1, 1)))[0, 1])
