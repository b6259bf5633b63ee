"""A tiny Llama, LoRA adapters on it, and `sxs generators serve` running them on real vLLM.

Shared by the vLLM integration tests and the generation benchmark. Nothing is downloaded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

SXS = Path(sys.executable).parent / "sxs"


def require_vllm() -> str:
    """The Python with vLLM; a test without it is skipped here, and fails in CI."""
    import pytest

    from generators.errors import ServerStartError
    from generators.server import find_vllm_python

    try:
        return find_vllm_python()
    except ServerStartError as error:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have vLLM: {error}")
        pytest.skip(str(error))


ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")


def build_adapter(
    base: Path, out: Path, seed: int, rank: int = 8, target_modules: tuple[str, ...] = ATTENTION
) -> Path:
    """A LoRA adapter with random A and B (peft's default B = 0 would change nothing); vLLM
    packs q/k/v into one qkv projection and gate/up into one (its sliced LoRA ops)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base)
    config = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        init_lora_weights=False,
        task_type="CAUSAL_LM",
        target_modules=list(target_modules),
    )
    get_peft_model(model, config).save_pretrained(str(out))
    return out


def build_models(folder: Path, adapters: tuple[str, ...] = ("es", "fi")) -> dict[str, Path]:
    """The tiny base model in folder/base and one random adapter per name."""
    from training.tiny_model import build_tiny_llama

    base = build_tiny_llama(folder / "base")
    return {"base": base} | {
        name: build_adapter(base, folder / "adapters" / name, seed=index + 1)
        for index, name in enumerate(adapters)
    }


def write_registry(folder: Path, port: int, adapters: dict[str, Path], max_tokens: int) -> Path:
    """models.toml serving folder/base and `adapters` on 127.0.0.1:port."""
    lines = [
        'base_model = "base"',
        "[server]",
        f"port = {port}",
        "max_model_len = 512",
        'dtype = "float32"',  # the tiny model's large weights lose too much in bfloat16
        "[sampling]",
        f"max_tokens = {max_tokens}",
        "[adapters]",
        *(f'{name} = "{path}"' for name, path in adapters.items()),
    ]
    path = folder / "models.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextmanager
def serving(registry: Path, log_dir: Path, port: int, timeout_s: float = 400) -> Iterator[str]:
    """`sxs generators serve` in its own process session; yields the base URL. On exit it is
    sent SIGTERM and must have stopped vLLM, port closed, within 60 s."""
    url = f"http://127.0.0.1:{port}/v1"
    output = (log_dir / "serve.out").open("wb")
    process = subprocess.Popen(
        [str(SXS), "generators", "serve", "-r", str(registry), "--log", str(log_dir / "vllm.log")],
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"sxs generators serve exited with {process.returncode}:\n"
                    + (log_dir / "serve.out").read_text(errors="replace")[-3000:]
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"vLLM not healthy within {timeout_s} s")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        yield url
    finally:
        stopped = _stop(process)
        output.close()
    if not stopped:
        raise RuntimeError("sxs generators serve did not stop within 60 s of SIGTERM")
    try:
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
    except httpx.ConnectError:
        return
    raise RuntimeError(f"port {port} still answers after sxs generators serve stopped")


def _stop(process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        return True
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
        return True
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        return False
