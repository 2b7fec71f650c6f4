# The two commands: `make run` (database, migrations, demo data, server) and `make test`.
# Both do all set-up on a fresh Debian/Ubuntu machine.

VENV      := .venv
PY        := $(VENV)/bin/python
FIELDNAV  := $(VENV)/bin/fieldnav
STAMP     := $(VENV)/.installed-stamp
PYTHON    ?= python3
DEMO_SERVICES ?= 5000

# The field client (web/, served at /app/): npm packages and the vite build into web/dist.
WEB_LOCK    := web/node_modules/.package-lock.json
WEB_BUILD   := web/dist/index.html
WEB_SOURCES := web/index.html web/vite.config.js $(wildcard web/src/*) $(wildcard web/public/*.*) $(wildcard web/public/icons/*)
DEMO_TOKEN_TTL ?= 12h

.PHONY: run test check setup os-deps os-deps-test venv db spec clean-db web

run: setup web
	$(FIELDNAV) demo-data --services $(DEMO_SERVICES) --if-empty
	$(FIELDNAV) centres load service/data/centres/ontario.json
	-@$(FIELDNAV) token create --agency demo --role field_worker --subject demo-worker --ttl $(DEMO_TOKEN_TTL) 2>/dev/null \
		| $(PY) -m service.api.routes.app_static
	$(FIELDNAV) serve

# Browser tests drive Debian's Chromium (tests/test_browser.py): os-deps-test installs it.
test: os-deps-test venv web check
	$(PY) -m pytest

# The linter, the formatter and the type checker (configured in pyproject.toml): zero findings.
check: venv
	$(VENV)/bin/ruff check
	$(VENV)/bin/ruff format --check
	$(VENV)/bin/mypy

setup: os-deps venv db

os-deps:
	@bash scripts/ensure-os-deps.sh

os-deps-test:
	@bash scripts/ensure-os-deps.sh chromium

# npm ci when the lock file changed, the build when any source did.
web: $(WEB_BUILD)

$(WEB_LOCK): web/package.json $(wildcard web/package-lock.json)
	cd web && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
	@touch $@

$(WEB_BUILD): $(WEB_LOCK) $(WEB_SOURCES)
	cd web && npm run build
	@touch $@

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# Starts fieldnav's private PostgreSQL unless FIELDNAV_DATABASE_URL names another server.
db: venv
	$(FIELDNAV) db start
	$(FIELDNAV) db migrate

# Regenerate the committed API contract from the app (review the diff!).
spec: venv
	$(PY) -m service.api.spec > mobile_api_spec/openapi.yaml

clean-db: venv
	-$(FIELDNAV) db stop
	rm -rf .fieldnav
