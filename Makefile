# The two commands: `make run` (the workstation) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# npm packages (solc, OpenZeppelin, anvil) exactly as package-lock.json pins them
NPM_STAMP := node_modules/.installed-stamp

.PHONY: run test bench lint clean contracts

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@# the non-headless OpenCV wheel ships Qt 5 and aborts offscreen; refuse it
	@! $(PY) -m pip show -q opencv-python 2>/dev/null || (echo "opencv-python (non-headless) is installed; remove it" && exit 1)
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

# rebuild resources/contracts/<Name>.json from contracts/*.sol (commit the result)
contracts: $(NPM_STAMP)
	node contracts/compile.js

run: $(STAMP)
	$(VENV)/bin/alaya gui $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/lint-imports

test: lint $(NPM_STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m bench $(ARGS)

clean:
	rm -rf $(VENV) node_modules .pytest_cache .import_linter_cache bench/results
