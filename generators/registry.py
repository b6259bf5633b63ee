"""The model registry, `models.toml`: the base model, its LoRA adapters, and where they are served.

    base_model = "models/base"          # a local folder (relative to this file), a .gguf file
                                        # (converted once: `sxs base convert`), or a hub id
    base_name = "base"                  # the name the base model is served and requested under
    prompt_format = "chat"              # "chat": the server's chat template; "raw": the text as is
    endpoints = ["http://127.0.0.1:8000/v1"]   # replicas; default: the [server] address

    [sampling]                          # the paper's defaults
    temperature = 0.7
    top_p = 0.9
    max_tokens = 512

    [server]                            # how `sxs generators serve` starts vLLM
    host = "127.0.0.1"
    port = 8000
    max_model_len = 2048

    [adapters]
    es = "adapters/es"                              # name = folder of a peft LoRA adapter
    fi = { path = "adapters/fi", revision = "2" }   # bump revision after retraining in place

Every table is validated; an error names the file, the entry and the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from common.base_cache import converted_folder, file_sha256, is_converted, is_gguf
from common.errors import first_problem
from common.toml_file import read_toml
from generators.errors import RegistryError, UnknownModelError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class PromptFormat(StrEnum):
    """How an instruction becomes a request: chat messages or a raw completion prompt."""

    CHAT = "chat"
    RAW = "raw"


class Sampling(BaseModel):
    """Sampling of generations (the paper: nucleus p 0.9, temperature 0.7, 512 new tokens)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=0.9, gt=0.0, le=1.0)
    max_tokens: int = Field(default=512, ge=1, le=32768)


# flags the vLLM command line takes from the registry → the [server] setting that gives them
OWN_FLAGS = {
    "--model": "",
    "--served-model-name": "",
    "--host": "host",
    "--port": "port",
    "--max-model-len": "max_model_len",
    "--dtype": "dtype",
    "--enable-lora": "",
    "--lora-modules": "",
    "--max-loras": "max_loras",
    "--max-cpu-loras": "max_loras",
    "--max-lora-rank": "max_lora_rank",
    "--no-enable-chunked-prefill": "",
    "--enable-chunked-prefill": "",
    "--max-num-batched-tokens": "",
}


class ServerSettings(BaseModel):
    """What `sxs generators serve` passes to vLLM beyond the models themselves."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_model_len: int = Field(default=2048, ge=16)
    max_loras: int | None = Field(default=None, ge=1, description="default: one per adapter")
    max_lora_rank: int | None = Field(default=None, ge=1, description="default: from adapters")
    cpu_kvcache_gib: int = Field(default=1, ge=1, description="VLLM_CPU_KVCACHE_SPACE on CPU")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        default="auto",
        description="--dtype; 'auto' is bfloat16 for a float32 checkpoint (part of the cache key)",
    )
    extra_args: list[str] = Field(
        default_factory=list,
        description="appended to the command; flags sxs sets itself are refused (set them here)",
    )

    @field_validator("extra_args")
    @classmethod
    def _no_flag_twice(cls, values: list[str]) -> list[str]:
        for value in values:
            flag = value.split("=", 1)[0]
            if flag in OWN_FLAGS:
                setting = OWN_FLAGS[flag]
                where = f"set [server] {setting} instead" if setting else "sxs sets it itself"
                raise ValueError(
                    f"{flag} is set by sxs from the registry ({where}); vLLM would see it twice"
                )
        return values


class Adapter(BaseModel):
    """A peft LoRA adapter of the base model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: Path
    revision: str = Field(default="", description="part of the generation cache key")
    endpoints: list[str] | None = Field(default=None, description="default: the registry's")

    @model_validator(mode="before")
    @classmethod
    def _path_alone(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value


def _check_url(url: str) -> str:
    if not re.match(r"^https?://[^/\s]+", url):
        raise ValueError(f"{url!r} is not an http(s) URL such as http://127.0.0.1:8000/v1")
    return url.rstrip("/")


class Registry(BaseModel):
    """The base model and its adapters, how to serve them, and how to sample from them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_model: str = Field(min_length=1)
    base_name: str = "base"
    prompt_format: PromptFormat = PromptFormat.CHAT
    endpoints: list[str] = Field(default_factory=list)
    sampling: Sampling = Field(default_factory=Sampling)
    server: ServerSettings = Field(default_factory=ServerSettings)
    adapters: dict[str, Adapter] = Field(default_factory=dict)
    folder: Path = Field(default=Path("."), exclude=True, description="where relative paths start")

    @field_validator("endpoints")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        return [_check_url(url) for url in urls]

    @field_validator("adapters")
    @classmethod
    def _adapter_names(cls, adapters: dict[str, Adapter]) -> dict[str, Adapter]:
        for name, adapter in adapters.items():
            if not _NAME.match(name):
                raise ValueError(f"adapter name {name!r}: use letters, digits, '_', '.', '-'")
            for url in adapter.endpoints or []:
                _check_url(url)
        return adapters

    @model_validator(mode="after")
    def _names_unique(self) -> Registry:
        if self.base_name in self.adapters:
            raise ValueError(f"adapter {self.base_name!r} has the name of the base model")
        return self

    @property
    def default_endpoints(self) -> list[str]:
        """The registry's endpoints, or the address `serve` starts vLLM on."""
        return self.endpoints or [f"http://{self.server.host}:{self.server.port}/v1"]

    def base_path(self) -> str:
        """The base model as vLLM loads it: a folder resolved against the registry, a GGUF
        file's converted folder (`sxs base convert`), or a hub id."""
        local = self.folder / self.base_model
        if is_gguf(local) and local.is_file():
            folder = self.gguf_folder()
            if not is_converted(folder):
                raise RegistryError(
                    f"base_model {self.base_model!r} is a GGUF file not converted yet: run "
                    f"`sxs base convert {local}` (sxs generators serve and sxs up convert it)"
                )
            return str(folder)
        return str(local.resolve()) if local.exists() else self.base_model

    def gguf_file(self) -> Path | None:
        """The base model's GGUF file, when `base_model` names one."""
        local = self.folder / self.base_model
        return local.resolve() if is_gguf(local) and local.is_file() else None

    def gguf_folder(self) -> Path:
        """Where the GGUF base model's converted folder is (or will be)."""
        gguf = self.gguf_file()
        if gguf is None:
            raise RegistryError(f"base_model {self.base_model!r} is not a GGUF file")
        return converted_folder(file_sha256(gguf))

    def adapter_path(self, name: str) -> Path:
        """An adapter's folder, resolved against the registry's folder."""
        return (self.folder / self.adapters[name].path).resolve()

    def served(self, name: str) -> ServedModel:
        """The registered model called `name` (the base or an adapter)."""
        if name == self.base_name:
            return ServedModel(name, tuple(self.default_endpoints), self._identity(name, ""))
        adapter = self.adapters.get(name)
        if adapter is None:
            known = ", ".join([self.base_name, *self.adapters]) or "none"
            raise UnknownModelError(f"model {name!r} is not in the registry (known: {known})")
        endpoints = tuple(_check_url(u) for u in adapter.endpoints or self.default_endpoints)
        return ServedModel(name, endpoints, self._identity(name, adapter.revision))

    def names(self) -> list[str]:
        """Every registered model: the base first, then the adapters."""
        return [self.base_name, *self.adapters]

    def _identity(self, name: str, revision: str) -> str:
        return f"{self.base_model}|{name}|{revision}|{self.server.dtype}"


@dataclass(frozen=True, slots=True)
class ServedModel:
    """A model as clients see it: its request name, replicas, and cache identity."""

    name: str
    endpoints: tuple[str, ...]
    identity: str


def load_registry(path: Path) -> Registry:
    """Read and validate `models.toml`; errors name the file, the entry and the reason."""
    data = read_toml(path, "the registry", RegistryError)
    try:
        return Registry.model_validate({**data, "folder": path.parent})
    except ValidationError as error:
        entry, message = first_problem(error, "registry")
        raise RegistryError(f"{path}: {entry}: {message}") from None
