from pathlib import Path

import pytest

from generators.errors import RegistryError, UnknownModelError
from generators.registry import PromptFormat, load_registry


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_registry(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    registry = load_registry(
        write(
            tmp_path,
            """
base_model = "base"
base_name = "llama"
prompt_format = "raw"
endpoints = ["http://10.0.0.1:8000/v1/", "http://10.0.0.2:8000/v1"]
[sampling]
max_tokens = 64
[server]
port = 9000
[adapters]
es = "adapters/es"
fi = { path = "/abs/fi", revision = "2", endpoints = ["http://10.0.0.3:8000/v1"] }
""",
        )
    )
    assert registry.prompt_format is PromptFormat.RAW
    assert (registry.sampling.temperature, registry.sampling.top_p) == (0.7, 0.9)
    assert registry.sampling.max_tokens == 64
    assert registry.base_path() == str((tmp_path / "base").resolve())
    assert registry.adapter_path("es") == (tmp_path / "adapters" / "es").resolve()
    assert registry.adapter_path("fi") == Path("/abs/fi")
    assert registry.names() == ["llama", "es", "fi"]
    base, es, fi = (registry.served(name) for name in registry.names())
    assert base.endpoints == es.endpoints == ("http://10.0.0.1:8000/v1", "http://10.0.0.2:8000/v1")
    assert fi.endpoints == ("http://10.0.0.3:8000/v1",)
    assert fi.identity != registry.model_copy(update={"adapters": {}}).served("llama").identity
    assert fi.identity == "base|fi|2|auto"  # the serving dtype changes outputs: in the key


def test_defaults_follow_the_paper_and_the_server(tmp_path: Path) -> None:
    registry = load_registry(write(tmp_path, 'base_model = "org/hub-model"\n'))
    assert registry.sampling.model_dump() == {"temperature": 0.7, "top_p": 0.9, "max_tokens": 512}
    assert registry.prompt_format is PromptFormat.CHAT
    assert registry.default_endpoints == ["http://127.0.0.1:8000/v1"]
    assert registry.base_path() == "org/hub-model"  # not a local folder: a hub id for vLLM


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "base_model: Field required"),
        ('base_model = "b"\n[adapters]\n"my adapter" = "p"', "adapter name 'my adapter'"),
        ('base_model = "b"\n[adapters]\nbase = "p"', "adapter 'base' has the name of the base"),
        ('base_model = "b"\nendpoints = ["localhost:8000"]', "endpoints: 'localhost:8000' is not"),
        ('base_model = "b"\n[sampling]\ntemperature = -1', "sampling.temperature: Input should be"),
        ('base_model = "b"\n[server]\nport = 0', "server.port"),
        ('base_model = "b"\nbase_modle = "typo"', "base_modle: Extra inputs are not permitted"),
        (
            'base_model = "b"\n[adapters]\nes = { revision = "1" }',
            "adapters.es.path: Field required",
        ),
        ('base_model = "b', "not valid TOML"),
    ],
)
def test_bad_registries_name_the_entry(tmp_path: Path, text: str, complaint: str) -> None:
    with pytest.raises(RegistryError, match=r"models\.toml: ") as raised:
        load_registry(write(tmp_path, text))
    assert complaint in str(raised.value)


def test_missing_file_and_unknown_model(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="cannot read the registry"):
        load_registry(tmp_path / "absent.toml")
    registry = load_registry(write(tmp_path, 'base_model = "b"\n[adapters]\nes = "es"\n'))
    with pytest.raises(UnknownModelError, match=r"'fr' is not in the registry \(known: base, es\)"):
        registry.served("fr")
