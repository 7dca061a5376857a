# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint format bench fuzz clean venv

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

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) bench/ingest.py
	$(PY) bench/retrieval.py
	$(PY) bench/qa.py
	$(PY) bench/startup.py
	$(PY) bench/load.py
	$(PY) bench/soak.py
	$(PY) bench/brief.py

# the loaders fed random and mutated files for FUZZ_MINUTES; figures in bench/results/fuzz.json
FUZZ_MINUTES ?= 10
fuzz: $(STAMP)
	$(PY) bench/fuzz.py --minutes $(FUZZ_MINUTES)

clean:
	rm -rf $(VENV) brief-data .pytest_cache
