# Set-up and everyday commands. On a fresh machine `make build` and `make test` are all you need:
# each creates the locked environment in .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
RUN := PATH="$(BIN):$$PATH" DVC_NO_ANALYTICS=1

.PHONY: build check test env browser ckan-env interop-env portal screenshots lock bench docs clean

build: env ## rebuild the data package (data/, datapackage.json) from sources/ and records/
	$(RUN) dvc repro

check: env ## between edits: locate the quotes, build and validate the tables; nothing is published
	$(RUN) dvc repro validate

test: env browser ckan-env interop-env ## run the whole test suite
	$(RUN) pytest

ckan-env: .ckan-venv/.synced ## CKAN 2.12 in its own environment, PostgreSQL 15 and Redis, for the publishing tests

.ckan-venv/.synced:
	@command -v redis-server >/dev/null && test -x /usr/lib/postgresql/15/bin/postgres && test -f /usr/include/postgresql/libpq-fe.h || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 redis-server libpq-dev >/dev/null; }
	$(PYTHON) -m venv .ckan-venv
	.ckan-venv/bin/pip install --quiet --disable-pip-version-check "ckan[requirements]==2.12.0"
	touch $@

interop-env: .interop-venv/.synced tests/interop/node/node_modules/.synced ## the other Data Package clients the interoperability test reads the package with

.interop-venv/.synced: tests/interop/requirements-v1.lock | env
	$(PYTHON) -m venv .interop-venv
	$(BIN)/uv pip sync --quiet --python .interop-venv/bin/python tests/interop/requirements-v1.lock
	touch $@

tests/interop/node/node_modules/.synced: tests/interop/node/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	cd tests/interop/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

browser: ## Debian's Chromium, for the tests that open the generated pages
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

env: $(VENV)/.synced

$(VENV)/.synced: requirements.lock
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip sync --quiet --python $(BIN)/python --compile-bytecode requirements.lock
	touch $@

portal: build ## serve the package in a local data portal (Datasette) on http://127.0.0.1:8001 (PORT=… to change)
	$(RUN) python -m pipelines.portal --serve

screenshots: build browser ## PNG screenshots of a record, a source and a table page of the portal in docs/img/
	$(RUN) python -m portal.screenshots

lock: env ## re-resolve requirements.in into requirements.lock
	$(BIN)/uv pip compile --quiet --python-version 3.11 --generate-hashes requirements.in -o requirements.lock

bench: env ## print speed and memory figures of the pipeline
	$(RUN) python bench/pipeline.py

clean:
	rm -rf $(VENV) .ckan-venv .interop-venv tests/interop/node/node_modules build .pytest_cache test-output

docs: env ## regenerate the README's data dictionary from schemas/
	$(RUN) python -m pipelines.docs
