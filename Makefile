# The two commands: `make run` (database, migrations, demo data, server) and `make test`.
# Both do all set-up on a fresh Debian/Ubuntu machine.

VENV      := .venv
PY        := $(VENV)/bin/python
FIELDNAV  := $(VENV)/bin/fieldnav
STAMP     := $(VENV)/.installed-stamp
PYTHON    ?= python3
DEMO_SERVICES ?= 5000

.PHONY: run test setup os-deps venv db spec clean-db

run: setup
	$(FIELDNAV) demo-data --services $(DEMO_SERVICES) --if-empty
	$(FIELDNAV) centres load service/data/centres/ontario.json
	$(FIELDNAV) serve

test: os-deps venv
	$(PY) -m pytest

setup: os-deps venv db

os-deps:
	@bash scripts/ensure-os-deps.sh

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
