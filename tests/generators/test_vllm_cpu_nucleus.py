"""Top-p among each row's most likely tokens, against the sort-based filter vLLM's CPU path
uses (written here as vLLM computes it: ascending sort, top-k, then the ascending cumulative
mask, the most likely token always kept). Peaked rows take the fast path, flat rows fall back
to the sort; rows without top-p (p = 1), top-k, and a top-k wider than the candidates too."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from generators.vllm_command import CPU_PLUGIN_FOLDER

torch = pytest.importorskip("torch")
sys.path.insert(0, str(CPU_PLUGIN_FOLDER))
import sxs_vllm_cpu_nucleus as nucleus  # noqa: E402

VOCAB = 5000


def sorted_filter(logits: Any, k: Any, p: Any, allow_cpu_sync: bool = False) -> Any:
    """vLLM's `apply_top_k_top_p_pytorch`, as it computes it."""
    if p is None and k is None:
        return logits
    logits_sort, logits_idx = logits.sort(dim=-1, descending=False)
    if k is not None:
        threshold = logits_sort.gather(1, (logits_sort.size(1) - k.long()).unsqueeze(1))
        logits_sort.masked_fill_(logits_sort < threshold, float("-inf"))
    if p is not None:
        probs_sum = logits_sort.softmax(dim=-1).cumsum(dim=-1)
        mask = probs_sum <= 1 - p.unsqueeze(1)
        mask[:, -1] = False
        logits_sort.masked_fill_(mask, float("-inf"))
    return logits.scatter_(dim=-1, index=logits_idx, src=logits_sort)


def rows(seed: int) -> Any:
    """Peaked rows (a trained model: the nucleus is small), and flat ones (it is not)."""
    generator = torch.Generator().manual_seed(seed)
    scale = torch.tensor([8.0, 6.0, 4.0, 0.05, 8.0, 0.01]).unsqueeze(1)
    return torch.randn(6, VOCAB, generator=generator) * scale


@pytest.mark.parametrize("with_k", [False, True])
def test_the_kept_tokens_are_those_of_the_sort(with_k: bool) -> None:
    filtered = nucleus.nucleus_by_candidates(sorted_filter)
    for seed in range(5):
        logits = rows(seed)
        p = torch.tensor([0.9, 0.5, 0.95, 0.9, 1.0, 0.7])
        k = torch.tensor([50, 5, 1000, 20, 30, 7]) if with_k else None
        expected = sorted_filter(logits.clone(), k, p)
        got = filtered(logits.clone(), k, p, True)
        assert torch.equal(torch.isinf(got), torch.isinf(expected)), seed
        kept = ~torch.isinf(expected)
        assert torch.equal(got[kept], expected[kept])
    # the peaked rows took the fast path: their nucleus fits among the candidates
    probs = logits[:3].softmax(-1).topk(nucleus.CANDIDATES).values.sum(-1)
    assert bool((probs >= 0.95).all())


def test_a_top_k_wider_than_the_candidates_and_small_vocabularies_use_the_sort() -> None:
    calls: list[int] = []

    def counted(logits: Any, k: Any, p: Any, allow_cpu_sync: bool = False) -> Any:
        calls.append(logits.shape[0])
        return sorted_filter(logits, k, p, allow_cpu_sync)

    filtered = nucleus.nucleus_by_candidates(counted)
    logits = rows(1)
    p = torch.full((6,), 0.9)
    wide = torch.full((6,), nucleus.CANDIDATES + 1)
    filtered(logits.clone(), wide, p, True)
    assert calls == [6]
    filtered(torch.randn(2, 100), None, torch.full((2,), 0.9), True)
    assert calls == [6, 2]


def test_rows_without_top_p_keep_every_token() -> None:
    logits = rows(2)
    got = nucleus.nucleus_by_candidates(sorted_filter)(logits.clone(), None, torch.ones(6), True)
    assert not bool(torch.isinf(got).any())
    assert torch.equal(got, logits)
