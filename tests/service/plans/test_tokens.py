"""A plan's token count: exact through a server's /tokenize, each prompt asked once; estimated
by script where a server does not answer, said so."""

from __future__ import annotations

import asyncio

from service.plans.tokens import Prompt, count_tokens, estimated_tokens, server_root
from tests.loopback import free_port, serving
from tests.openai_stub import create_app


def chat(text: str) -> dict[str, object]:
    return {"model": "judge", "messages": [{"role": "user", "content": text}]}


def test_each_prompt_is_tokenized_once_and_counted_exactly() -> None:
    texts = [f"prompt {'word ' * n}" for n in range(6)]
    tokenized: list[str] = []
    with serving(create_app(tokenized=tokenized)) as url:
        counted = asyncio.run(count_tokens([Prompt(server_root(url), chat(t)) for t in texts]))
    assert sorted(tokenized) == sorted(texts)  # the probe's count is kept, not asked again
    assert counted.each == [len(t.split()) for t in texts]
    assert (counted.exact, counted.estimated, counted.is_exact) == (6, 0, True)
    assert counted.tokens == sum(counted.each)


def test_a_server_that_does_not_answer_is_estimated_and_named() -> None:
    silent = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    tokenized: list[str] = []
    with serving(create_app(tokenized=tokenized)) as url:
        prompts = [Prompt(server_root(url), chat("one two three")), Prompt(silent, chat("ab"))]
        counted = asyncio.run(count_tokens(prompts))
    assert tokenized == ["one two three"]
    assert counted.each == [3, round(estimated_tokens("ab"))]
    assert (counted.exact, counted.estimated) == (1, 1)
    assert counted.how == [
        f"exact: {server_root(url)}/tokenize",
        f"estimated by script: {silent} (ConnectError)",
    ]
