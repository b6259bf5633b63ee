"""Settings of the `openai-batch` judge backend (`batch.py` judges with them)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator

from judges.backends.openai import JudgeModelConfig


class BatchJudgeConfig(JudgeModelConfig):
    """Settings of the `openai-batch` judge backend (one server: `base_url`)."""

    kind: Literal["openai-batch"] = "openai-batch"
    batch_size: int = Field(default=5000, ge=1, le=50_000, description="requests per batch at most")
    collect_s: float = Field(
        default=2.0, ge=0, description="a batch is sent once no call has come for this long"
    )
    poll_s: float = Field(default=30.0, gt=0, description="seconds between two polls")
    completion_window: str = Field(default="24h", description="as the provider accepts it")
    batch_tries: int = Field(
        default=3,
        ge=1,
        le=10,
        description="batches a request may go into before it is recorded as invalid",
    )
    ledger: Path | None = Field(
        default=None,
        description="the SQLite file keeping batch ids (default: the service's or the "
        "command's store)",
    )

    @model_validator(mode="after")
    def _one_server(self) -> Self:
        if len(self.base_urls) != 1:
            raise ValueError("a batch judge has one server: give base_url")
        return self
