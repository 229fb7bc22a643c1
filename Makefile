# huifang — the two commands of the README: `make demo` and `make test`.
# Needs only Python 3.11 on the machine; everything else is installed into .venv.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := var/demo
DEMO_FEEDS := var/demo-feeds
DEMO_START := 2026-10-12
DEMO_DAYS := 10

.PHONY: demo test install lint serve clean

$(BIN)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "huifang needs Python 3.11, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

install: $(BIN)/.installed

demo: install
	@HUIFANG_DATA_DIR=$(DEMO_DIR) DEMO_FEEDS=$(DEMO_FEEDS) DEMO_START=$(DEMO_START) DEMO_DAYS=$(DEMO_DAYS) \
		bash scripts/demo.sh

test: install
	@bash scripts/test.sh

lint: install
	@bash scripts/test.sh --lint-only

clean:
	rm -rf var artifacts
