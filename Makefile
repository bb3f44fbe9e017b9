# `make demo` and `make test` each set everything up on a fresh machine: .venv, PyTorch, evonas and its
# test tools. PyTorch is installed first and pinned (override TORCH_SPEC for another build, e.g. a CPU one).
# Every other dependency is pinned by constraints.txt; `make test CONSTRAINTS=` tests the newest versions
# pip finds (use a fresh .venv: `make clean` first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.evonas-installed
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
PYTEST_ARGS ?=
CONSTRAINTS ?= constraints.txt
PIP_CONSTRAINTS := $(if $(CONSTRAINTS),-c $(CONSTRAINTS),)

.PHONY: all demo test lint bench clean

all: test

$(STAMP): pyproject.toml Makefile $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet $(PIP_CONSTRAINTS) -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/evonas demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(STAMP) lint
	$(BIN)/python -m pytest -n 2 --dist loadfile -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/evonas bench
	$(BIN)/python -m pytest benchmarks -q -p no:xdist --benchmark-only --benchmark-columns=median,min,max,rounds

clean:
	rm -rf $(VENV) evonas-report artifacts .pytest_cache .hypothesis
