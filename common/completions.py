"""The body of an OpenAI-compatible completion request and the text of its answer, built and
read in one place for generation, judging, multiple-choice answering and translation."""

from __future__ import annotations

from typing import Any


def completion_path(chat: bool) -> str:
    """/chat/completions for a chat prompt (the server's template), /completions for raw text."""
    return "/chat/completions" if chat else "/completions"


def completion_body(model: str, prompt: str, *, chat: bool, **fields: Any) -> dict[str, Any]:
    """`prompt` as one user message (chat) or as raw text, for `model`, with `fields` (sampling,
    max_tokens, logprobs …)."""
    body: dict[str, Any] = {"model": model, **fields}
    if chat:
        body["messages"] = [{"role": "user", "content": prompt}]
    else:
        body["prompt"] = prompt
    return body


def completion_text(data: Any, chat: bool) -> Any:
    """choices[0]'s text as the server sent it (possibly null). Raises KeyError / IndexError /
    TypeError when the answer has no such field."""
    choice = data["choices"][0]
    return choice["message"]["content"] if chat else choice["text"]
