"""Where the project's own files are: the checkout (for examples/ and .venv-vllm)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
