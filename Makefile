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

.PHONY: run test check lint typecheck unit acceptance bench install build annotate clean ops-tools

run: build
	$(PY) -m galileo run $(RUN_ARGS)

test: build ops-tools lint typecheck unit

# tests/ops runs a real Prometheus and promtool (Debian's prometheus package) and skips without
# them. Install it once when apt-get exists and we are root or have password-less sudo
# (~20 s with apt-get update); otherwise, or if apt fails, print a note and go on. A service
# the package starts is stopped and disabled again: only the binaries are wanted.
ops-tools:
	@if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then \
	  exit 0; \
	fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "note: no apt-get: the Prometheus tests in tests/ops will be skipped"; exit 0; \
	fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else echo "note: not root and no password-less sudo: the Prometheus tests in tests/ops will be skipped"; exit 0; \
	fi; \
	echo "installing Debian's prometheus package for tests/ops (apt-get)"; \
	apt="$$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=60"; \
	if timeout 120 $$apt update -qq >/dev/null \
	  && timeout 180 $$apt install -y -qq --no-install-recommends prometheus >/dev/null; then \
	  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then \
	    $$sudo systemctl disable --now prometheus >/dev/null 2>&1 || true; \
	  fi; \
	else \
	  echo "note: installing prometheus failed: the Prometheus tests in tests/ops will be skipped"; \
	fi

unit: build
	$(PY) -m pytest -q -p no:cacheprovider -m "not acceptance"

# The measured acceptance figures (multi-IP pacing at R = 40 and 200, Jupiter restarts, an IP
# leaving, lander scaling, the status-server flood): rates over 10-20 s runs that need the
# machine to themselves, printed (-s) as they are measured. Not part of make test.
acceptance: build
	$(PY) -m pytest -q -p no:cacheprovider -m acceptance -s

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
