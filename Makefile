# qpt — everything a fresh machine with only python3 needs.
# `make train` and `make test` set up the virtual environment on first use.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# torch is pinned here, not in pyproject (which keeps an open range): on these machines
# 2.13.0 resolves to a local CPU build, an open range pulls several GB of CUDA wheels.
TORCH  := torch==2.13.0
export PYTHONHASHSEED := 0

.PHONY: setup train evaluate test test-slow test-all lint format bench clean-cache mlflow-ui clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

train: setup          ## train the default model (SU(2), deep net, the letter's disorder)
	$(PY) train.py $(ARGS)

evaluate: setup       ## evaluate a trained run: make evaluate ARGS="ckpt=path/to/best.ckpt"
	$(PY) evaluate.py $(ARGS)

test: setup           ## fast test suite (CI runs this)
	$(PY) -m pytest -m "not slow" -q $(ARGS)

test-slow: setup      ## slow tests only (multi-process training, larger lattices)
	$(PY) -m pytest -m slow -q $(ARGS)

test-all: setup
	$(PY) -m pytest -q $(ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: setup          ## all benchmarks (prints tables; see docs/benchmarks.md)
	$(PY) benchmarks/eigensolver.py
	$(PY) benchmarks/generation.py
	$(PY) benchmarks/training.py

mlflow-ui: setup      ## browse runs at http://127.0.0.1:5000
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///mlflow.db

clean:
	rm -rf outputs multirun .pytest_cache .ruff_cache
