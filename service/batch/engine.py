"""What the engine mode's vLLM engines are: the registry's base model and every adapter, with the
settings `sxs generators serve` gives its server (so an engine in Ray and a server answer the
same requests alike), the environment vLLM needs, and the Python that runs them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generators.registry import Registry
from generators.vllm_command import (
    CPU_STEP_TOKENS,
    Device,
    adapter_rank,
    served_rank,
    vllm_environment,
)


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """Everything a Ray actor needs to build one engine: `LLM(**engine)`, the name the base
    model is requested under, the adapters (name → folder), its environment, the Python it
    runs under (None: the driver's) and the resources it holds."""

    engine: dict[str, Any]
    base: str
    adapters: dict[str, str]
    env: dict[str, str]
    python: str | None
    num_cpus: float = 1.0
    num_gpus: float = 0.0


def engine_spec(registry: Registry, device: Device, python: str | None) -> EngineSpec:
    """The engine serving `registry` on `device` (a whole GPU per engine, or one CPU)."""
    server = registry.server
    adapters = {name: str(registry.adapter_path(name)) for name in registry.adapters}
    engine: dict[str, Any] = {
        "model": registry.base_path(),
        "max_model_len": server.max_model_len,
        "dtype": server.dtype,
    }
    if device is Device.CPU:  # as the server: no chunked prefill (see `vllm_command`)
        engine |= {
            "enable_chunked_prefill": False,
            "max_num_batched_tokens": max(CPU_STEP_TOKENS, server.max_model_len),
        }
    if adapters:
        ranks = [adapter_rank(name, registry.adapter_path(name)) for name in adapters]
        max_loras = server.max_loras or len(adapters)
        engine |= {
            "enable_lora": True,
            "max_loras": max_loras,
            "max_cpu_loras": max(max_loras, len(adapters)),
            "max_lora_rank": server.max_lora_rank or served_rank(ranks),
        }
    env = vllm_environment(registry, device, base={})
    gpus = 1.0 if device is Device.GPU else 0.0
    return EngineSpec(engine, registry.base_name, adapters, env, python, num_gpus=gpus)
