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

.PHONY: install constraints demo test test-fast test-latest fuzz fuzz-ct bench clean browser axe pacs-server viewer fit validate

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e '.[all]'
	touch $(STAMP)

install: $(STAMP) viewer  ## create .venv and install hepcal with every extra at the tested versions (and the web viewer)

# The web app's study viewer: NiiVue (BSD-2-Clause) from the npm registry, its self-contained ES
# module copied into static/vendor/ (gitignored, never committed). Without npm the viewer page
# says the viewer is not installed; everything else works.
NIIVUE_VERSION := 0.69.0
VIEWER_VENDOR := src/hepcal/web/static/vendor/niivue
viewer:  ## fetch the web viewer (NiiVue) from npm into src/hepcal/web/static/vendor/
	@test -f $(VIEWER_VENDOR)/niivue.js && grep -q '"$(NIIVUE_VERSION)"' $(VIEWER_VENDOR)/package.json 2>/dev/null || ( \
	  command -v npm >/dev/null 2>&1 && \
	  npm install --silent --no-audit --no-fund --no-save --prefix build/npm @niivue/niivue@$(NIIVUE_VERSION) && \
	  mkdir -p $(VIEWER_VENDOR) && \
	  cp build/npm/node_modules/@niivue/niivue/dist/index.js $(VIEWER_VENDOR)/niivue.js && \
	  cp build/npm/node_modules/@niivue/niivue/package.json $(VIEWER_VENDOR)/package.json \
	) || echo "warning: NiiVue could not be fetched (npm missing or the npm registry unreachable): the web viewer page will say it is not installed"

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

AXE := $(VENV)/axe/node_modules/axe-core/axe.min.js
axe:  ## axe-core from the npm registry, for the accessibility checks of the browser tests (skipped when absent)
	@test -f $(AXE) || ( command -v npm >/dev/null 2>&1 && npm install --silent --prefix $(VENV)/axe --no-save --no-package-lock --no-audit --no-fund axe-core@4 >/dev/null ) || echo "axe-core not installed: accessibility checks will be skipped"

pacs-server:  ## Debian's Orthanc for the PACS round-trip tests (skipped when it cannot be installed)
	@command -v Orthanc >/dev/null 2>&1 || ( (apt-get update -qq && apt-get install -y -qq orthanc orthanc-dicomweb >/dev/null) || echo "orthanc not installed: PACS round-trip tests will be skipped" )

test: $(STAMP) browser axe pacs-server viewer  ## the whole test suite
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)  ## tests without the browser and slow end-to-end ones
	$(BIN)/python -m pytest -q -m "not slow and not browser"

fit: $(STAMP)  ## refit the knowledge base to the case library, then check it (commit knowledge/fitted.json)
	$(BIN)/hepcal kb fit
	$(BIN)/hepcal kb check

validate: $(STAMP)  ## nested cross-validation over the case library, then the frozen hold-out
	$(BIN)/hepcal validate --cv 5 --repeats 2
	$(BIN)/hepcal validate --holdout

fuzz: $(STAMP) fuzz-ct  ## longer property-based runs: the case reader (5,000 examples per property), the API (schemathesis) and the broken-studies corpus
	HEPCAL_FUZZ_EXAMPLES=5000 $(BIN)/python -m pytest -q tests/findings/test_reader.py tests/findings/test_fuzz.py tests/web/test_openapi_fuzz.py --hypothesis-show-statistics

FUZZ_CT_ROUNDS ?= 8
fuzz-ct: $(STAMP)  ## the broken-studies corpus on FUZZ_CT_ROUNDS other phantoms (phases, lesions, spacings): minutes
	HEPCAL_FUZZ_CT=$(FUZZ_CT_ROUNDS) $(BIN)/python -m pytest -q tests/imaging/test_corpus.py

bench: $(STAMP)  ## benchmarks; writes bench-results.json
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(LATEST) .pytest_cache build dist src/*.egg-info src/hepcal/web/static/vendor
