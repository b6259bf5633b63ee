"""ROUGE-L for multilingual text: rouge-score's LCS with a tokenizer that keeps every script.

rouge-score's default tokenizer drops everything but [a-z0-9], which turns Chinese, Arabic or
Hindi into nothing. Here text is lowercased and split on whitespace, and characters of scripts
written without spaces (CJK, kana, Thai) count one token each.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

_UNSPACED = re.compile(r"([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f])")


class MultilingualTokenizer:
    """Whitespace tokens; unspaced-script characters one by one."""

    def tokenize(self, text: str) -> list[str]:
        return _UNSPACED.sub(r" \1 ", text.lower()).split()


@lru_cache(maxsize=1)
def _scorer() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], tokenizer=MultilingualTokenizer())


def rouge_l(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean ROUGE-L F-measure, 0–100."""
    if len(predictions) != len(references) or not references:
        raise ValueError("ROUGE-L needs as many predictions as references, at least one")
    scores = [
        _scorer().score(reference, prediction)["rougeL"].fmeasure
        for prediction, reference in zip(predictions, references, strict=True)
    ]
    return 100.0 * float(sum(scores)) / len(scores)
