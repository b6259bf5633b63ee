"""Settings of the comparison service: environment variables `SXS_*`, or a TOML file.

    SXS_DB=.sxs/sxs.db SXS_REGISTRY=models.toml SXS_TOKEN=secret sxs serve
    sxs serve --config service.toml          # the file's values win over the environment

Nested values from the environment use `__`, e.g. `SXS_JUDGES__LLM__BASE_URL`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.errors import first_problem
from common.openai_http import ClientSettings, RetryPolicy
from common.paths import PROJECT_ROOT
from common.toml_file import read_toml
from judges.backends.factory import JudgeConfig
from judges.backends.reference import ReferenceJudgeConfig

SAMPLE_EVAL_SET = PROJECT_ROOT / "examples" / "sample_eval.jsonl"
SAMPLE_MCQ_SET = PROJECT_ROOT / "examples" / "sample_mcq.jsonl"


REFERENCE_ONLY: dict[str, JudgeConfig] = {"reference": ReferenceJudgeConfig()}


class SettingsError(Exception):
    """The service's settings are invalid; the message names the setting."""


class ServiceSettings(BaseSettings):
    """Everything `create_app` needs; nothing is built from these at import time."""

    model_config = SettingsConfigDict(
        env_prefix="SXS_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    db: Path = Path(".sxs/sxs.db")
    registry: Path = Path("models.toml")
    eval_sets: dict[str, Path] = Field(default_factory=lambda: {"sample": SAMPLE_EVAL_SET})
    mcq_sets: dict[str, Path] = Field(default_factory=lambda: {"sample": SAMPLE_MCQ_SET})
    judges: dict[str, JudgeConfig] = Field(default_factory=lambda: dict(REFERENCE_ONLY))
    default_judge: str = "reference"
    judge_template: Path | None = Field(default=None, description="default: the paper's")
    parse_attempts: int = Field(default=3, ge=1, le=10)
    token: SecretStr | None = Field(default=None, description="bearer token; none: no auth")
    openapi_public: bool = Field(
        default=False,
        description="serve /openapi.json and /docs without the token (they list the model, "
        "judge and set names)",
    )
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    max_items_per_job: int = Field(default=10_000, ge=1)
    health_cache_s: float = Field(
        default=5.0, ge=0, description="GET /v1/health probes the backends at most this often"
    )
    jobs_in_parallel: int = Field(
        default=4,
        ge=1,
        le=64,
        description="jobs run at once; as many as `sxs matrix` keeps in flight (4), so the "
        "cells of one baseline, whose judge prompts share prefixes, are judged together",
    )
    job_lease_s: float = Field(
        default=30.0,
        ge=0.5,
        description="a job runs in the process that renewed its lease within this time; "
        "another process sharing the store takes it over only after",
    )
    store_busy_timeout_s: float = Field(
        default=5.0,
        ge=0,
        description="a request waits this long for another connection's write lock, then 503",
    )
    store_patience_s: float = Field(
        default=600.0,
        ge=0,
        description="a running job waits this long for a locked store before it fails",
    )
    item_concurrency: int = Field(default=32, ge=1, le=1024)
    generation_timeout_s: float = Field(default=600.0, gt=0)
    generation_retry: RetryPolicy = Field(default_factory=RetryPolicy)
    generator_api_key: SecretStr | None = None

    def generator_client(self, transport: httpx.AsyncBaseTransport | None = None) -> ClientSettings:
        """How generators are called: requests in flight, the deadline, retries, the key."""
        key = self.generator_api_key
        return ClientSettings(
            concurrency=2 * self.item_concurrency,
            timeout_s=self.generation_timeout_s,
            retry=self.generation_retry,
            api_key=key.get_secret_value() if key else None,
            transport=transport,
        )

    @model_validator(mode="after")
    def _default_judge_exists(self) -> ServiceSettings:
        if self.default_judge not in self.judges:
            raise ValueError(
                f"default_judge {self.default_judge!r} is not among judges "
                f"({', '.join(self.judges) or 'none'})"
            )
        return self


def load_settings(config: Path | None = None, **overrides: Any) -> ServiceSettings:
    """Settings from the environment, then `config` (TOML), then `overrides`."""
    values: dict[str, Any] = {}
    if config is not None:
        values = read_toml(config, "the settings", SettingsError)
    try:
        return ServiceSettings(**(values | overrides))
    except ValidationError as error:
        where, message = first_problem(error, "settings")
        raise SettingsError(f"setting {where}: {message}") from None
