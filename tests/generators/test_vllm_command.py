import importlib.metadata
import json
import os
import re
from pathlib import Path

import pytest

from generators.errors import RegistryError
from generators.registry import load_registry
from generators.vllm_command import Device, served_rank, vllm_command, vllm_environment


def adapter(folder: Path, rank: int, pattern: dict[str, int] | None = None) -> Path:
    folder.mkdir(parents=True)
    config = {"r": rank, "peft_type": "LORA", "rank_pattern": pattern or {}}
    (folder / "adapter_config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def test_every_flag_comes_from_the_registry(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    adapter(tmp_path / "ad" / "es", 8)
    adapter(tmp_path / "ad" / "fi", 4, {"q_proj": 12})
    registry_file = tmp_path / "models.toml"
    registry_file.write_text(
        'base_model = "base"\nbase_name = "tiny"\n'
        '[server]\nhost = "0.0.0.0"\nport = 8123\nmax_model_len = 1024\ndtype = "bfloat16"\n'
        'extra_args = ["--enforce-eager"]\n'
        '[adapters]\nes = "ad/es"\nfi = "ad/fi"\n',
        encoding="utf-8",
    )
    command = vllm_command(load_registry(registry_file), "/venv/bin/python")
    assert command == [
        "/venv/bin/python",
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str((tmp_path / "base").resolve()),
        "--served-model-name",
        "tiny",
        "--host",
        "0.0.0.0",
        "--port",
        "8123",
        "--max-model-len",
        "1024",
        "--dtype",
        "bfloat16",
        "--enable-lora",
        "--lora-modules",
        f"es={(tmp_path / 'ad' / 'es').resolve()}",
        f"fi={(tmp_path / 'ad' / 'fi').resolve()}",
        "--max-loras",
        "2",
        "--max-cpu-loras",
        "2",
        "--max-lora-rank",
        "16",  # the rank_pattern's 12, rounded up to a value vLLM accepts
        "--enforce-eager",
    ]
    assert command.count("--dtype") == 1


@pytest.mark.parametrize(
    ("extra", "fix"),
    [
        ('["--dtype", "bfloat16"]', "set [server] dtype instead"),
        ('["--dtype=half"]', "set [server] dtype instead"),
        ('["--port", "9000"]', "set [server] port instead"),
        ('["--lora-modules", "x=y"]', "sxs sets it itself"),
    ],
)
def test_a_flag_sxs_sets_cannot_be_given_twice(tmp_path: Path, extra: str, fix: str) -> None:
    registry_file = tmp_path / "models.toml"
    registry_file.write_text(
        f'base_model = "hub/model"\n[server]\nextra_args = {extra}\n', encoding="utf-8"
    )
    expected = re.escape(f"is set by sxs from the registry ({fix}); vLLM would see it twice")
    with pytest.raises(RegistryError, match=expected):
        load_registry(registry_file)


def test_every_flag_of_the_command_is_one_extra_args_refuses(tmp_path: Path) -> None:
    from generators.registry import OWN_FLAGS

    adapter(tmp_path / "es", 8)
    registry_file = tmp_path / "models.toml"
    registry_file.write_text('base_model = "b"\n[adapters]\nes = "es"\n', encoding="utf-8")
    registry = load_registry(registry_file)
    for device in Device:
        flags = {word for word in vllm_command(registry, "python", device) if word[:2] == "--"}
        assert flags <= set(OWN_FLAGS), flags - set(OWN_FLAGS)


def test_overrides_and_a_registry_without_adapters(tmp_path: Path) -> None:
    adapter(tmp_path / "es", 8)
    registry_file = tmp_path / "models.toml"
    registry_file.write_text(
        'base_model = "hub/model"\n[server]\nmax_loras = 4\nmax_lora_rank = 64\n'
        '[adapters]\nes = "es"\n',
        encoding="utf-8",
    )
    command = vllm_command(load_registry(registry_file), "python")
    assert command[command.index("--max-loras") + 1] == "4"
    assert command[command.index("--max-cpu-loras") + 1] == "4"
    assert command[command.index("--max-lora-rank") + 1] == "64"
    registry_file.write_text('base_model = "hub/model"\n', encoding="utf-8")
    plain = vllm_command(load_registry(registry_file), "python")
    assert "--enable-lora" not in plain
    assert plain[plain.index("--model") + 1] == "hub/model"
    assert "--no-enable-chunked-prefill" not in plain  # a GPU keeps chunked prefill


def test_on_cpu_no_prefill_is_cut(tmp_path: Path) -> None:
    registry_file = tmp_path / "models.toml"
    registry_file.write_text('base_model = "b"\n[server]\nmax_model_len = 16384\n', "utf-8")
    command = vllm_command(load_registry(registry_file), "python", Device.CPU)
    assert "--no-enable-chunked-prefill" in command
    assert command[command.index("--max-num-batched-tokens") + 1] == "16384"


def test_an_adapter_folder_without_a_peft_config_is_named(tmp_path: Path) -> None:
    (tmp_path / "es").mkdir()
    registry_file = tmp_path / "models.toml"
    registry_file.write_text('base_model = "b"\n[adapters]\nes = "es"\n', encoding="utf-8")
    with pytest.raises(RegistryError, match=r"adapter 'es': .*adapter_config.json does not exist"):
        vllm_command(load_registry(registry_file), "python")


@pytest.mark.parametrize(("ranks", "served"), [([1], 1), ([2, 8], 8), ([9], 16), ([300], 320)])
def test_ranks_round_up_to_what_vllm_accepts(ranks: list[int], served: int) -> None:
    assert served_rank(ranks) == served


def test_environment_by_device(tmp_path: Path) -> None:
    registry_file = tmp_path / "models.toml"
    registry_file.write_text('base_model = "b"\n[server]\ncpu_kvcache_gib = 3\n', "utf-8")
    registry = load_registry(registry_file)
    cpu = vllm_environment(registry, Device.CPU, base={"PATH": "/bin", "HF_HUB_OFFLINE": "0"})
    assert cpu["VLLM_HOST_IP"] == "127.0.0.1"
    assert cpu["VLLM_CPU_KVCACHE_SPACE"] == "3"
    assert cpu["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "True"
    assert cpu["HF_HUB_OFFLINE"] == "0"  # the user's own setting wins
    assert cpu["PATH"] == "/bin"
    gpu = vllm_environment(registry, Device.GPU, base={})
    assert "VLLM_CPU_KVCACHE_SPACE" not in gpu
    assert gpu["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "True"
    assert "PYTHONPATH" not in gpu  # the GPU kernels skip base rows themselves


def test_on_cpu_vllm_finds_the_plugin_that_keeps_adapters_off_base_rows(tmp_path: Path) -> None:
    registry_file = tmp_path / "models.toml"
    registry_file.write_text('base_model = "b"\n', "utf-8")
    registry = load_registry(registry_file)
    alone = vllm_environment(registry, Device.CPU, base={})
    (folder,) = alone["PYTHONPATH"].split(os.pathsep)
    (plugin,) = [
        entry
        for distribution in importlib.metadata.distributions(path=[folder])
        for entry in distribution.entry_points
        if entry.group == "vllm.general_plugins"
    ]
    assert (plugin.name, plugin.value) == ("sxs_lora_base_rows", "sxs_vllm_cpu_fixes:register")
    assert (Path(folder) / "sxs_vllm_cpu_fixes.py").is_file()
    assert "VLLM_PLUGINS" not in alone  # unset: vLLM loads every plugin it finds
    chosen = vllm_environment(
        registry, Device.CPU, base={"PYTHONPATH": "/mine", "VLLM_PLUGINS": "theirs"}
    )
    assert chosen["PYTHONPATH"] == os.pathsep.join([folder, "/mine"])
    assert chosen["VLLM_PLUGINS"] == "theirs,sxs_lora_base_rows"
