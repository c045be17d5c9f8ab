# The two quick-start commands: `make solve` (writes solution.pdf) and `make test`.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip

.PHONY: solve test install install-dev tex lint unit benchmark fuzz

solve: install
	derive solve

test: install-dev lint unit

tex:
	@bash scripts/install-tex.sh

install: tex
	$(PIP) install --quiet --disable-pip-version-check .

install-dev: tex
	$(PIP) install --quiet --disable-pip-version-check '.[dev]'

lint:
	$(PYTHON) -m ruff check derive tests cli.py
	$(PYTHON) -m ruff format --check derive tests cli.py
	$(PYTHON) -m mypy

unit:
	$(PYTHON) -m pytest -q

benchmark:
	$(PYTHON) scripts/benchmark.py

fuzz:
	HYPOTHESIS_PROFILE=fuzz $(PYTHON) -m pytest -q tests/property
