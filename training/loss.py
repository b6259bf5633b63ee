"""The causal-LM loss with the LM head run only where there is a label: the same value as
transformers' loss over every position, at a fraction of the head's cost (a 262k-token
vocabulary makes the head most of a small model's step)."""

from __future__ import annotations

from typing import Any


def labelled_loss(model: Any, ids: Any, mask: Any, labels: Any) -> Any:
    """Mean cross-entropy of the labelled tokens, the LM head run on their positions only (the
    same loss transformers computes over every position, at a fraction of the head's cost)."""
    import torch

    hidden = decoder_states(model, ids, mask)
    targets = labels[:, 1:]
    keep = targets != -100
    logits = head_logits(model, hidden[:, :-1][keep])
    return torch.nn.functional.cross_entropy(logits, targets[keep])


def decoder_states(model: Any, ids: Any, mask: Any) -> Any:
    """The last hidden states of a causal LM (or a peft model of one), before the LM head."""
    return _causal(model).get_decoder()(input_ids=ids, attention_mask=mask).last_hidden_state


def head_logits(model: Any, hidden: Any) -> Any:
    """The LM head on some hidden states, in float32, with the model's final-logit soft-cap
    (Gemma 2's) as transformers applies it."""
    import torch

    causal = _causal(model)
    logits = causal.get_output_embeddings()(hidden).float()
    softcap = getattr(causal.config, "final_logit_softcapping", None)
    return torch.tanh(logits / softcap) * softcap if softcap else logits


def _causal(model: Any) -> Any:
    return model.get_base_model() if hasattr(model, "get_base_model") else model
