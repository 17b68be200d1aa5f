# hepcal — the two commands that work on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast bench clean browser axe pacs-server

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[all]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install hepcal with every extra

demo: $(STAMP)  ## assess the bundled example cases and print them
	@for f in examples/*.yaml; do echo "== $$f"; $(BIN)/hepcal assess $$f; done

browser:  ## Debian's chromium for the browser tests (skipped when it cannot be installed)
	@command -v chromium >/dev/null 2>&1 || ( (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium not installed: browser tests will be skipped" )

AXE := $(VENV)/axe/node_modules/axe-core/axe.min.js
axe:  ## axe-core from the npm registry, for the accessibility checks of the browser tests (skipped when absent)
	@test -f $(AXE) || ( command -v npm >/dev/null 2>&1 && npm install --silent --prefix $(VENV)/axe --no-save --no-package-lock --no-audit --no-fund axe-core@4 >/dev/null ) || echo "axe-core not installed: accessibility checks will be skipped"

pacs-server:  ## Debian's Orthanc for the PACS round-trip tests (skipped when it cannot be installed)
	@command -v Orthanc >/dev/null 2>&1 || ( (apt-get update -qq && apt-get install -y -qq orthanc orthanc-dicomweb >/dev/null) || echo "orthanc not installed: PACS round-trip tests will be skipped" )

test: $(STAMP) browser axe pacs-server  ## the whole test suite
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)  ## tests without the browser and slow end-to-end ones
	$(BIN)/python -m pytest -q -m "not slow and not browser"

bench: $(STAMP)  ## benchmarks; writes bench-results.json
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache build dist src/*.egg-info
