"""Prompt tokens of a plan: exact through the server's own tokenizer where it has one (vLLM's
`POST /tokenize`, given the very messages or prompt the run will send), else estimated from
each character's script, and labelled as such.

A server is asked once whether it tokenizes; one that does not (no route, an error, no answer
within a few seconds) is estimated for the whole plan. Counting makes no completion call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from common.concurrency import bounded_map
from common.openai_http import without_userinfo

PROBE_TIMEOUT_S = 5.0
# tokens a character, by Unicode block, fitted to Gemma 3's 262k vocabulary on the parallel
# Vicuna-80 set (benchmarks/token_estimate.py prints the ratio estimate / exact per language)
_WEIGHTS = (
    (0x0080, 0.22),  # ASCII
    (0x0250, 0.4),  # Latin-1 supplement, Latin extended
    (0x0370, 0.5),  # IPA, modifiers, combining marks
    (0x0530, 0.32),  # Greek, Cyrillic
    (0x0900, 0.37),  # Armenian, Hebrew, Arabic, Syriac, Thaana
    (0x0E00, 0.28),  # Indic scripts
    (0x3040, 0.5),  # Thai … general punctuation, symbols, CJK punctuation
    (0x3100, 0.45),  # kana
    (0x4E00, 0.6),
    (0xA000, 0.62),  # CJK ideographs
    (0xAC00, 0.5),
    (0xD7B0, 0.66),  # Hangul syllables
    (0xF900, 0.5),
    (0xFB00, 0.62),  # CJK compatibility ideographs
)


def estimated_tokens(text: str) -> float:
    """A script-weighted estimate of `text`'s tokens (see `_WEIGHTS`)."""
    total = 0.0
    for character in text:
        point = ord(character)
        total += next((w for bound, w in _WEIGHTS if point < bound), 0.5)
    return total


@dataclass(frozen=True, slots=True)
class Prompt:
    """One request's prompt as the run sends it: the server's root (before /v1) and the body."""

    root: str
    body: dict[str, Any]
    api_key: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        """The bearer token the run sends the server, if any."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def text(self) -> str:
        """The prompt's text (a chat's message contents joined)."""
        if "messages" in self.body:
            return "\n".join(str(m.get("content", "")) for m in self.body["messages"])
        return str(self.body.get("prompt", ""))

    def tokenize_body(self) -> dict[str, Any]:
        """vLLM's /tokenize request for the same prompt."""
        if "messages" in self.body:
            return {"model": self.body.get("model"), "messages": self.body["messages"],
                    "add_generation_prompt": True}  # fmt: skip
        return {"model": self.body.get("model"), "prompt": self.body.get("prompt", "")}


def server_root(base_url: str) -> str:
    """An OpenAI-compatible base URL's server root (vLLM's /tokenize is not under /v1), without
    user-info: the run never sends it, nor does the plan (the configured key goes as Bearer)."""
    url = without_userinfo(base_url).rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


@dataclass(frozen=True, slots=True)
class TokenCount:
    """Tokens of some prompts: `exact` of them counted by their servers, the rest estimated;
    `how` says which servers counted and why others did not."""

    tokens: int
    exact: int
    estimated: int
    how: list[str]
    each: list[int]  # every prompt's count, in order

    @property
    def is_exact(self) -> bool:
        """Whether every prompt was counted by its server."""
        return self.estimated == 0


async def count_tokens(prompts: Sequence[Prompt], concurrency: int = 16) -> TokenCount:
    """The tokens of `prompts`, exact where their server tokenizes, else estimated. Each prompt
    is sent once: a server's first prompt is its probe, and the probe's count is kept."""
    firsts = {prompt.root: index for index, prompt in reversed(list(enumerate(prompts)))}
    roots = sorted(firsts)
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_S) as client:
        probes = await asyncio.gather(*(_probe(client, prompts[firsts[root]]) for root in roots))
        probed = {
            firsts[root]: count
            for root, count in zip(roots, probes, strict=True)
            if isinstance(count, int)
        }
        counting = {prompts[index].root for index in probed}
        how = [f"exact: {root}/tokenize" for root in sorted(counting)] + [
            f"estimated by script: {root} ({why})"
            for root, why in zip(roots, probes, strict=True)
            if isinstance(why, str)
        ]

        async def one(index: int) -> int:  # -1: not counted (bounded_map drops None)
            prompt = prompts[index]
            if index in probed or prompt.root not in counting:
                return probed.get(index, -1)
            try:
                answer = await _tokenize(client, prompt)
                return int(answer.json()["count"]) if answer.status_code == 200 else -1
            except (httpx.HTTPError, ValueError, KeyError, TypeError):
                return -1  # estimated instead

        counted = await bounded_map(list(range(len(prompts))), one, concurrency)
    each = [
        count if count >= 0 else round(estimated_tokens(prompt.text()))
        for prompt, count in zip(prompts, counted, strict=True)
    ]
    exact = sum(count >= 0 for count in counted)
    return TokenCount(sum(each), exact, len(each) - exact, how, each)


async def _probe(client: httpx.AsyncClient, prompt: Prompt) -> int | str:
    """`prompt`'s tokens when its server counts them; else why not."""
    try:
        answer = await _tokenize(client, prompt)
    except httpx.HTTPError as error:
        return f"{type(error).__name__}"
    if answer.status_code != 200:
        return f"/tokenize answered {answer.status_code}"
    try:
        return int(answer.json()["count"])
    except (ValueError, KeyError, TypeError):
        return "/tokenize answered without a count"


async def _tokenize(client: httpx.AsyncClient, prompt: Prompt) -> httpx.Response:
    return await client.post(
        f"{prompt.root}/tokenize", json=prompt.tokenize_body(), headers=prompt.headers
    )
