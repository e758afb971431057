# The two commands a newcomer needs: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
PORT          ?= 8000
EMULATOR_PORT ?= 4566
export PORT EMULATOR_PORT

# Python 3.12 for everything (chalice packages for the interpreter it runs under). pyenv has it on
# every machine of ours; a plain python3.12 on PATH works as well.
PYTHON312 := $(shell for c in "env PYENV_VERSION=3.12.1 python3.12" "python3.12"; do \
	  $$c -c 'import sys; assert sys.version_info[:2] == (3, 12); print(sys.executable)' 2>/dev/null && break; done)

# Debian's chromium for the browser tests (never a browser downloaded by a test tool).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help run test lint typecheck bench fuzz aggregate browser clean

help:
	@echo "make run    start the API on 127.0.0.1:$(PORT) with an AWS emulator and a demo café"
	@echo "make test   install what the tests need and run them all (lint included)"
	@echo "make bench  print the benchmark figures quoted in docs/benchmarks.md"
	@echo "make fuzz   schemathesis with 1,000 cases per operation (docs/fuzz.md)"
	@echo "make load   a 60 s load run on loopback: throughput, p50/p99, errors (docs/scaling.md)"

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(PYTHON312)" || { echo "Python 3.12 not found: install it (pyenv install 3.12.1) and retry." >&2; exit 1; }
	@test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

browser:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@command -v chromium >/dev/null || { echo "chromium could not be installed; the browser tests need it." >&2; exit 1; }

run: $(VENV)/.installed
	$(PY) -m chalicelib.local.server

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

# mypy, strict, on app.py and chalicelib/, and the count of `type: ignore` (docs/development.md).
typecheck: $(VENV)/.installed
	$(PY) tests/typecheck.py

test: $(VENV)/.installed browser
	$(VENV)/bin/ruff check .
	$(PY) tests/typecheck.py
	$(PY) -m pytest -q

bench: $(VENV)/.installed
	$(PY) bench/cold_import.py
	$(PY) bench/cold_start.py
	$(PY) bench/submit.py
	$(PY) bench/local_scaling.py
	$(PY) bench/console.py

# The daily report job now, for every business, against the running `make run` (reports + digests).
aggregate: $(VENV)/.installed
	@[[ "$(DATE)" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$$ ]] || { echo "usage: make aggregate DATE=YYYY-MM-DD" >&2; exit 2; }
	$(PY) -m chalicelib.local.aggregate $(DATE)

# Schemathesis, deeper than in `make test` (100 cases per operation there): docs/fuzz.md.
FUZZ_EXAMPLES ?= 1000
# And the fault injection at its full 1,000 submissions (about 10 minutes; moto needs ~18 GB for it).
FAULT_SUBMISSIONS ?= 1000
fuzz: $(VENV)/.installed
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q -p no:cacheprovider tests/fuzz
	FAULT_SUBMISSIONS=$(FAULT_SUBMISSIONS) $(PY) -m pytest -q -s -p no:cacheprovider tests/integration/faults

# A bounded load run on loopback (default 60 s): docs/scaling.md.
LOAD_SECONDS ?= 60
.PHONY: load
load: $(VENV)/.installed
	$(PY) bench/load.py --seconds $(LOAD_SECONDS)

# Resend the emails on the mail dead-letter queue, against the running `make run` (docs/email.md).
.PHONY: redrive
redrive: $(VENV)/.installed
	$(PY) -m chalicelib.local.redrive

clean:
	rm -rf $(VENV) .local build .pytest_cache .ruff_cache .hypothesis

STAGE ?= dev
.PHONY: package deploy
# The template (build/STAGE/sam.json) and the zip; no AWS credentials needed (docs/deploy.md).
package: $(VENV)/.installed
	$(PY) infra/package.py $(STAGE) build/$(STAGE)

# Needs AWS credentials. First deploy: PUBLIC_BASE_URL=https://... SENDER_DOMAIN=example.com
# MAIL_FROM=no-reply@example.com [ALARM_EMAIL=...] [CUSTOM_DOMAIN=... CERTIFICATE_ARN=...]; later ones reuse them.
deploy: package
	$(PY) infra/deploy.py $(STAGE) build/$(STAGE)
