"""The causal-LM loss with the LM head run only where there is a label: the same value as
transformers' loss over every position, at a fraction of the head's cost (a 262k-token
vocabulary makes the head most of a small model's step)."""

from __future__ import annotations

from typing import Any


def labelled_loss(model: Any, ids: Any, mask: Any, labels: Any) -> Any:
    """Mean cross-entropy of the labelled tokens, the LM head run on their positions only (the
    same loss transformers computes over every position, at a fraction of the head's cost)."""
    import torch

    causal = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = causal.get_decoder()(input_ids=ids, attention_mask=mask).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != -100
    logits = causal.get_output_embeddings()(hidden[:, :-1][keep]).float()
    softcap = getattr(causal.config, "final_logit_softcapping", None)
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    return torch.nn.functional.cross_entropy(logits, targets[keep])
