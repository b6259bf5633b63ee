"""A tiny Llama and a byte-level BPE tokenizer built locally, for tests and the CPU demo.

Nothing is downloaded: the tokenizer is trained in memory on a small multilingual corpus, the
model is randomly initialised. `initializer_range` 0.3 (not the default 0.02) lets LoRA move
such a model (see NOTES.md). Heads of 64 dimensions are what vLLM's CPU backend was seen to
serve.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "<|assistant|>\n{% generation %}{{ message['content'] }}{{ eos_token }}{% endgeneration %}\n"
    "{% else %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}{{ eos_token }}\n"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

CORPUS = [
    "Hello! How can I help you today? Here is a short answer with three points.",
    "The capital of France is Paris. Water boils at one hundred degrees.",
    "¡Hola! ¿En qué puedo ayudarte hoy? La capital de España es Madrid.",
    "Hei! Miten voin auttaa sinua tänään? Suomen pääkaupunki on Helsinki.",
    "Привет! Чем я могу помочь сегодня? Столица России — Москва.",
    "你好！今天我能帮你什么？中国的首都是北京。",
    "مرحبا! كيف يمكنني مساعدتك اليوم؟ عاصمة مصر هي القاهرة.",
    "नमस्ते! आज मैं आपकी कैसे मदद कर सकता हूँ? भारत की राजधानी नई दिल्ली है।",
    "Ciao! Come posso aiutarti oggi? La capitale d'Italia è Roma.",
    "Ahoj! Jak ti mohu dnes pomoci? Hlavní město Česka je Praha.",
    "Tere! Kuidas saan täna aidata? Eesti pealinn on Tallinn.",
    "שלום! איך אפשר לעזור היום? בירת ישראל היא ירושלים.",
    "Habari! Naweza kukusaidiaje leo? Mji mkuu wa Kenya ni Nairobi.",
    "Answer1 Answer2 1 2 0 3 4 5 6 7 8 9 ? . , ! : ; ( ) - ' \"",
]


@dataclass(frozen=True)
class TinyLlamaShape:
    """The size of the tiny model."""

    hidden_size: int = 256
    num_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 512
    max_positions: int = 2048
    initializer_range: float = 0.3
    vocab_size: int = 1024


def build_tokenizer(corpus: list[str] | None = None, vocab_size: int = 1024) -> Any:
    """A byte-level BPE fast tokenizer with bos/eos/pad and a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>"]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator((corpus or CORPUS) * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_llama(out_dir: Path, shape: TinyLlamaShape | None = None, seed: int = 0) -> Path:
    """Write a random tiny Llama with its tokenizer to `out_dir`; returns `out_dir`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    shape = shape or TinyLlamaShape()
    tokenizer = build_tokenizer(vocab_size=shape.vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=shape.hidden_size,
        intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.num_layers,
        num_attention_heads=shape.num_heads,
        num_key_value_heads=shape.num_heads,
        max_position_embeddings=shape.max_positions,
        initializer_range=shape.initializer_range,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
