"""Where the project's own files are: the checkout (for examples/ and .venv-vllm), and the
per-machine cache."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def sxs_cache() -> Path:
    """Where sxs keeps what it derives once per machine (converted base models):
    $SXS_CACHE, else $XDG_CACHE_HOME/sxs, else ~/.cache/sxs."""
    if os.environ.get("SXS_CACHE"):
        return Path(os.environ["SXS_CACHE"])
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "sxs"
