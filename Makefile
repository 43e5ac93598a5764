# Two commands do all the set-up: `make run` (the app on the embedded local AWS) and `make test` (everything CI runs).
PYTHON ?= python3
VENV := .venv
TOOLS := .venv-infra
BIN := $(VENV)/bin
PIP_FLAGS := --quiet --disable-pip-version-check
# `make run` serves on this machine only; `make run ADDRESS=0.0.0.0` serves every network interface (the sandbox
# app refuses that while sign-in is off: anyone on the network would act as an operator).
ADDRESS ?= 127.0.0.1
PORT ?= 8501
CONFORMANCE_LOG := tests/conformance/last-run.log

.PHONY: run test lint local stop-local deploy delete clean browser screenshots conformance

$(VENV)/.app: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_FLAGS) -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.app requirements-dev.txt
	$(BIN)/pip install $(PIP_FLAGS) -r requirements-dev.txt
	touch $@

# SAM CLI and checkov pin old boto3/urllib3/packaging: they get a venv of their own.
$(TOOLS)/.tools: infra/requirements.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install $(PIP_FLAGS) -r infra/requirements.txt
	touch $@

infra/node_modules/.installed: infra/package.json infra/package-lock.json
	npm ci --prefix infra --no-audit --no-fund --loglevel=error
	touch $@

# Debian's chromium and its driver, for the real-browser tests (Playwright drives /usr/bin/chromium), and an emoji
# font, best effort: the pages' status marks (🔴 ALARM, 🟩 succeeded) are emoji, blank squares in screenshots without.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver; }
	@dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  { $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq fonts-noto-color-emoji; } \
	  || echo "No emoji font installed: the tests pass without it; screenshots show squares for status marks."; }

run: $(VENV)/.app
	$(BIN)/streamlit run streamlit_app.py --server.address $(ADDRESS) --server.port $(PORT)

local: $(VENV)/.app
	$(BIN)/python -m backend local

stop-local: $(VENV)/.app
	$(BIN)/python -m backend local --stop

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The suite, and beside it the conformance run (its report printed once the suite is done): CI's one command.
test: $(VENV)/.dev $(TOOLS)/.tools infra/node_modules/.installed browser lint
	@$(BIN)/python -m tests.conformance >$(CONFORMANCE_LOG) 2>&1 & conformance=$$!; \
	INFRA_TOOLS_BIN=$(CURDIR)/$(TOOLS)/bin $(BIN)/python -m pytest -n 3 --dist loadfile; suite=$$?; \
	wait $$conformance; conformed=$$?; cat $(CONFORMANCE_LOG); \
	test $$suite -eq 0 && test $$conformed -eq 0

# moto's own tests (from its source distribution, fetched once) against a fresh local AWS and plain moto_server:
# the table, and the failures not explained in tests/conformance/expected.toml (~5 min; tests/conformance/run.py).
conformance: $(VENV)/.dev
	$(BIN)/python -m tests.conformance

# The README's screenshots, taken in the real browser along a demo run (tests/e2e/test_demo_walk.py, ~4 min).
screenshots: $(VENV)/.dev browser
	ORDERS_SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q tests/e2e/test_demo_walk.py

# The SAM CLI of .venv-infra unless SAM names another.
SAM ?= $(CURDIR)/$(TOOLS)/bin/sam

deploy delete: $(TOOLS)/.tools
	$(MAKE) -C infra $@ SAM=$(SAM) $(if $(STACK),STACK=$(STACK)) $(if $(REGION),REGION=$(REGION))

clean:
	rm -rf $(VENV) $(TOOLS) infra/node_modules infra/.aws-sam
