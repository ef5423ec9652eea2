# galileo — the two commands are `make run` and `make test` (see README.md).
# Both create .venv when missing, install the pinned dependencies (constraints.txt) and build
# the Cython core; a second call only rebuilds what changed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
DEPS_STAMP := $(VENV)/.galileo-deps
EXT_STAMP := $(VENV)/.galileo-ext
FAST_SOURCES := $(wildcard galileo/_fast/*.pyx galileo/_fast/*.pxd)
RUN_ARGS ?= --duration 60

.PHONY: run test check lint typecheck unit bench install build annotate clean

run: build
	$(PY) -m galileo run $(RUN_ARGS)

test: build lint typecheck unit

unit: build
	$(PY) -m pytest -q -p no:cacheprovider

lint: $(DEPS_STAMP)
	$(PY) -m ruff check galileo tests benches tools
	$(PY) -m ruff format --check galileo tests benches tools
	$(PY) tools/check_layers.py

# mypy --strict over galileo, tests and benches ([tool.mypy] files in pyproject.toml).
typecheck: $(DEPS_STAMP)
	$(PY) -m mypy

bench: build
	$(PY) -m pytest benches -q -p no:cacheprovider -o python_files='bench_*.py' --benchmark-json=benches/results/latest.json

install: $(DEPS_STAMP)
build: $(EXT_STAMP)

# Cython's annotated HTML of each kernel, with the build's directives (setup.py), under
# build/annotate/ (ignored by git). Yellow lines touch the Python C-API; the loops and the
# noexcept nogil kernels must stay white (docs/development.md).
annotate: $(DEPS_STAMP)
	$(PY) -c 'import setup; [print(page) for page in setup.annotate("build/annotate")]'

$(PY):
	$(PYTHON) -m venv $(VENV)

$(DEPS_STAMP): $(PY) constraints.txt pyproject.toml setup.py
	$(PIP) install -q -c constraints.txt setuptools wheel Cython
	$(PIP) install -q -c constraints.txt --no-build-isolation -e '.[dev]'
	touch $@

$(EXT_STAMP): $(DEPS_STAMP) $(FAST_SOURCES) setup.py
	$(PY) setup.py -q build_ext --inplace
	touch $@

clean:
	rm -rf build galileo/_fast/*.c galileo/_fast/*.so $(EXT_STAMP)
