# Set-up and everyday commands. On a fresh machine `make build` and `make test` are all you need:
# each creates the locked environment in .venv first (build: requirements.lock; test adds what the tests and
# publishing need: requirements-test.lock). `make help` lists the targets. The everyday commands
# run `python -m pipelines <command>`, where their logic lives.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
RUN := PATH="$(BIN):$$PATH" DVC_NO_ANALYTICS=1

.PHONY: build check test test-fast lint help env test-env publish-env browser ckan-env interop-env portal release screenshots lock bench docs shell clean

# Tests that need more than .venv: a browser, a service, or a client installed apart (see pyproject.toml).
NOT_FAST := not browser and not ckan and not other_clients

build: env ## rebuild the data package (data/, datapackage.json, reports/) from sources/ and records/
	@$(RUN) python -m pipelines build

check: env ## between edits: locate the quotes, build and validate the tables; nothing is published
	@$(RUN) python -m pipelines check

test: test-env browser ckan-env interop-env lint ## run the whole test suite (after the linter), on two workers
	$(RUN) pytest -n 2 --dist loadfile

test-fast: test-env lint ## the tests that need only .venv (no browser, no service, no other client), on two workers
	$(RUN) pytest -m "$(NOT_FAST)" -n 2 --dist loadfile  # a module's tests share its fixtures: one worker each

lint: test-env ## ruff, as configured in pyproject.toml
	$(RUN) ruff check pipelines portal bench tests

help: ## list these targets
	@awk -F ':.*## ' '/^[a-z][a-z-]*:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

ckan-env: .ckan-venv/.synced ## CKAN 2.12 in its own environment, PostgreSQL 15 and Redis, for the publishing tests

.ckan-venv/.synced:
	@command -v redis-server >/dev/null && test -x /usr/lib/postgresql/15/bin/postgres && test -f /usr/include/postgresql/libpq-fe.h || \
		{ echo "Installing PostgreSQL 15, Redis and libpq with apt-get..."; \
		  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 redis-server libpq-dev >/dev/null; }
	@echo "Installing CKAN 2.12 in .ckan-venv (several minutes on a fresh machine)..."
	$(PYTHON) -m venv .ckan-venv
	.ckan-venv/bin/pip install --progress-bar off --disable-pip-version-check "ckan[requirements]==2.12.0"
	touch $@

interop-env: .interop-venv/.synced tests/interop/node/node_modules/.synced ## the other Data Package clients the interoperability test reads the package with

.interop-venv/.synced: tests/interop/requirements-v1.lock | env
	$(PYTHON) -m venv .interop-venv
	$(BIN)/uv pip sync --quiet --python .interop-venv/bin/python tests/interop/requirements-v1.lock
	touch $@

tests/interop/node/node_modules/.synced: tests/interop/node/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || \
		{ echo "Installing Node.js and npm with apt-get..."; \
		  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	cd tests/interop/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

browser: ## Debian's Chromium, for the tests that open the generated pages
	@command -v chromium >/dev/null || { echo "Installing Chromium with apt-get..."; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

env: $(VENV)/.synced ## create the locked Python environment in .venv (about a minute the first time)

test-env: $(VENV)/.synced-test ## .venv with what the tests and publishing need too (requirements-test.lock)

publish-env: $(VENV)/.synced-publish ## .venv with what `python -m pipelines publish` needs too (requirements-publish.lock)

$(VENV)/bin/uv:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	@echo "Creating the locked environment in $(VENV) (about a minute the first time)..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.9

# Each lock is a superset of the one before it (requirements.lock ⊂ -publish ⊂ -test), so a sync to a larger one
# keeps the build working; a sync to a smaller one is followed by the larger again when a target needs it.
$(VENV)/.synced: requirements.lock | $(VENV)/bin/uv
	$(BIN)/uv pip sync --quiet --python $(BIN)/python --compile-bytecode requirements.lock
	rm -f $(VENV)/.synced-*
	touch $@

$(VENV)/.synced-%: requirements-%.lock $(VENV)/.synced
	$(BIN)/uv pip sync --quiet --python $(BIN)/python --compile-bytecode $<
	touch $@

portal: build ## serve the package in a local data portal (Datasette) on http://127.0.0.1:8001 (PORT=… to change); Ctrl-C stops it
	@$(RUN) python -m pipelines portal

release: build ## write dist/<name>-<version>/: the package zip, Parquet, CSV, SQLite, the report, dataset.jsonld and SHA256SUMS
	@$(RUN) python -m pipelines release

screenshots: build browser ## PNG screenshots of a record, a source and a table page and the attacks map of the portal in docs/img/
	$(RUN) python -m portal.screenshots

lock: $(VENV)/bin/uv ## re-resolve requirements*.in into their locks (the larger ones constrained by requirements.lock)
	$(BIN)/uv pip compile --quiet --python-version 3.11 --generate-hashes --custom-compile-command "make lock" requirements.in -o requirements.lock
	for extra in publish test; do $(BIN)/uv pip compile --quiet --python-version 3.11 --generate-hashes \
		--custom-compile-command "make lock" -c requirements.lock requirements-$$extra.in -o requirements-$$extra.lock; done

bench: test-env ## print speed and memory figures of the pipeline (several minutes; progress on stderr)
	$(RUN) python -m pipelines bench

clean: ## remove the environments, build/ and test output (data/ and reports/ stay)
	rm -rf $(VENV) .ckan-venv .interop-venv tests/interop/node/node_modules build .pytest_cache test-output

shell: env ## a shell with the project's environment (.venv) active; `exit` leaves it
	@echo "The project's environment is active; \`exit\` leaves it."
	@VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH="$(BIN):$$PATH" DVC_NO_ANALYTICS=1 $${SHELL:-/bin/bash} -i

docs: env ## regenerate docs/data-dictionary.md from schemas/ and the README's table of tables from data/
	$(RUN) python -m pipelines docs
