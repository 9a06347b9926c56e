# Set-up is part of every target: a fresh clone needs only `make test` or
# `sudo make run LAB=reflector`. p4c/BMv2 are not installed here (see README).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
LAB     ?= reflector
STAMP   := $(VENV)/.installed

.PHONY: setup test unit e2e run selftest lint bench clean-venv

$(STAMP): pyproject.toml
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	   ! { command -v mnexec && command -v ethtool && command -v ping; } >/dev/null 2>&1; then \
	  echo "installing Mininet (mnexec), ethtool, iproute2, ping from the distribution"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    mininet ethtool iproute2 iputils-ping >/dev/null; \
	fi
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

# Every tier this machine can run; the last line says which ran and why any was skipped.
test: $(STAMP)
	$(BIN)/python -m pytest tests

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e

run: $(STAMP)
	$(BIN)/labtool run $(LAB)

selftest: $(STAMP)
	$(BIN)/labtool selftest

lint: $(STAMP)
	$(BIN)/mypy
	$(BIN)/ruff check labtool tests controllers verifiers benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/run_phases.py

clean-venv:
	rm -rf $(VENV)
