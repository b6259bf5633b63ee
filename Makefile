# sxs — the two commands of the README, and their parts.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out/demo

.PHONY: setup demo test lint typecheck bench clean

setup: $(VENV)/.installed  ## project venv with the dev tools

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[train,dev]'
	touch $@

demo: setup  ## the main job on the CPU default: judge the bundled sample pairs
	mkdir -p $(OUT)
	$(BIN)/sxs judge examples/sample_pairs.jsonl --backend reference \
		--db $(OUT)/sxs.db --out $(OUT)/judged.jsonl
	@echo "demo output: $(OUT)/judged.jsonl (judgments stored in $(OUT)/sxs.db)"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

test: lint typecheck  ## lint, types, and the default test suite (slow and gpu tests excluded)
	$(BIN)/pytest -m "not slow and not gpu"

bench: setup  ## performance figures (see benchmarks/)
	$(BIN)/python benchmarks/judge_throughput.py

clean:
	rm -rf $(VENV) out .sxs .mypy_cache .ruff_cache .pytest_cache
