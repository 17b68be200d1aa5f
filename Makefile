# hepcal — the two commands that work on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The newest releases of every dependency, in a venv of their own (make test-latest).
LATEST := .venv-latest
# The versions hepcal is tested with; `make install` installs exactly these.
CONSTRAINTS := constraints.txt
# What test-latest runs (narrow it with e.g. LATEST_TESTS=tests/imaging/test_reading.py).
LATEST_TESTS ?= -m "not slow and not browser"

.PHONY: install constraints demo test test-fast test-latest fuzz-ct bench clean browser

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e '.[all]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install hepcal with every extra, at the tested versions

constraints:  ## regenerate constraints.txt from the working .venv (after adding or upgrading a dependency)
	@test -x $(BIN)/pip || { echo "no $(VENV): install the dependencies first (pip install -e '.[all]' in $(VENV))"; exit 2; }
	@{ echo "# The dependency versions hepcal is tested with (make install uses them)."; \
	   echo "# Regenerate with 'make constraints' from a venv where 'make test' passes."; \
	   $(BIN)/pip freeze --exclude-editable | grep -v -i -E '^(pip|setuptools|wheel)=='; } > $(CONSTRAINTS).tmp
	mv $(CONSTRAINTS).tmp $(CONSTRAINTS)

test-latest:  ## the fast tests against the newest releases of every dependency (drift shows here first)
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/pip install --quiet --upgrade pip
	$(LATEST)/bin/pip install --quiet --upgrade --upgrade-strategy eager -e '.[all]'
	$(LATEST)/bin/pip freeze --exclude-editable > $(LATEST)/versions.txt
	@echo "newest releases installed (listed in $(LATEST)/versions.txt); differences from $(CONSTRAINTS):"
	@diff $(CONSTRAINTS) $(LATEST)/versions.txt | grep '^[<>]' | grep -v '^< #' || true
	$(LATEST)/bin/python -m pytest -q $(LATEST_TESTS)

demo: $(STAMP)  ## assess the bundled example cases and print them
	@for f in examples/*.yaml; do echo "== $$f"; $(BIN)/hepcal assess $$f; done

browser:  ## Debian's chromium for the browser tests (skipped when it cannot be installed)
	@command -v chromium >/dev/null 2>&1 || ( (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium not installed: browser tests will be skipped" )

test: $(STAMP) browser  ## the whole test suite
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)  ## tests without the browser and slow end-to-end ones
	$(BIN)/python -m pytest -q -m "not slow and not browser"

FUZZ_CT_ROUNDS ?= 8
fuzz-ct: $(STAMP)  ## the broken-studies corpus on FUZZ_CT_ROUNDS other phantoms (phases, lesions, spacings): minutes
	HEPCAL_FUZZ_CT=$(FUZZ_CT_ROUNDS) $(BIN)/python -m pytest -q tests/imaging/test_corpus.py

bench: $(STAMP)  ## benchmarks; writes bench-results.json
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(LATEST) .pytest_cache build dist src/*.egg-info
