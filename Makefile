# Quick start: `make run` (install + main job on the bundled flows, then the gate on a generated history replayed
# month by month), `make test` (install + tests).
PYTHON ?= python3.11
VENV ?= .venv
OUT ?= out
GATE ?= $(OUT)-gate

$(VENV)/.installed: setup.py constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

# The project's own modules compiled to bytecode ahead of use (an editable install leaves them as source: each
# process compiles what it imports, ~0.2 CPU-s a run, every run where bytecode is not written back, e.g. under
# PYTHONDONTWRITEBYTECODE or a read-only checkout). Only changed modules are compiled again.
PACKAGES = gateway schemas transforms corrections console fixtures bench

install: $(VENV)/.installed
	@$(VENV)/bin/python -m compileall -q $(PACKAGES) >/dev/null

run: install
	$(VENV)/bin/drm-gateway run --out $(OUT) --arrival folder --insecure-demo-key
	@echo "The frozen-effects gate: a generated 7-month history (seed 7), replayed one arrival month at a time"
	$(VENV)/bin/drm-gateway fixtures generate --people 200 --employers 12 --bodies 2 --months 7 --seed 7 \
	    --out $(GATE)-flows
	$(VENV)/bin/drm-gateway run $(GATE)-flows --out $(GATE) --arrival folder --replay --insecure-demo-key

test: install
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider -n auto --dist loadfile

bench: install
	$(VENV)/bin/pip install --quiet -c constraints.txt -e '.[test,bench]'
	$(VENV)/bin/python -m bench

.PHONY: install run test bench

# Known-vulnerability check of the pinned dependencies (needs the PyPI JSON API or OSV: not reachable
# from the offline development machines, where every package is reported "not found").
audit: install
	$(VENV)/bin/pip install --quiet pip-audit
	$(VENV)/bin/pip-audit -r constraints.txt --disable-pip --no-deps

.PHONY: audit
