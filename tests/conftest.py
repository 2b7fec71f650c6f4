"""Test fixtures on a real PostGIS.

The suite starts fieldnav's own private cluster under .fieldnav/test-db (fsync off: it is
thrown away), creates a migrated template database once, and hands each test that asks
for one a fresh database copied from it. Set FIELDNAV_TEST_ADMIN_URL to a superuser URL of
another PostGIS 3 server to run the suite there instead.

Two roles, as in production (service/platform/grants.py): the template is migrated as
TEST_OWNER_ROLE, which grants TEST_APP_ROLE the application's privileges; the servers
(``start_server``) started on a copy of it connect as TEST_APP_ROLE, so every API test runs
with the grants. Tests themselves get the superuser URL (``database_url``) to set things up
and look at them; ``app_url_for`` gives the application role's URL of the same database.

The helpers (the server and its roles, `fieldnav serve` for a test, tokens, handoff data) are
in tests/support; this file holds the fixtures, and registers those of tests/support and
tests/browser.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from service.platform.embedded_db import EmbeddedCluster
from tests import cluster_users
from tests.support import PROJECT_ROOT
from tests.support.databases import TEST_APP_ROLE, TEST_OWNER_ROLE, TestServer, app_url_for
from tests.support.servers import TEST_SERVER_ENV, LiveServer, free_port, serve_in_thread, start_server, stop_server

# Fixtures shared by several modules: the browser tests' (web build, server, Chromium,
# phone) and the handoff tests' (a module's database, server and client).
pytest_plugins = ["tests.browser.fixtures", "tests.support.handoff_fixtures"]

# Helpers (tests/support) some tests still import from here.
__all__ = [
    "PROJECT_ROOT",
    "TEST_APP_ROLE",
    "TEST_OWNER_ROLE",
    "TEST_SERVER_ENV",
    "LiveServer",
    "app_url_for",
    "free_port",
    "serve_in_thread",
    "start_server",
    "stop_server",
]

# Open Referral reference data (HSDS 3.0 schemas and examples, the Miami 211 export): tests/data/README.md
SHARED_DATA = PROJECT_ROOT / "tests" / "data"
TEMPLATE_DB = f"fieldnav_template_{os.getpid()}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TestServer]:
    external = os.environ.get("FIELDNAV_TEST_ADMIN_URL")
    if external:
        yield TestServer(admin_url=external)
        return
    base_dir = PROJECT_ROOT / ".fieldnav" / "test-db"
    cluster = EmbeddedCluster(base_dir, durable=False)
    cluster_users.join(base_dir, cluster.start)
    try:
        yield TestServer(admin_url=cluster.superuser_url())
    finally:
        # The last session to end stops it (FIELDNAV_TEST_KEEP_CLUSTER=1 keeps it).
        cluster_users.leave(base_dir, cluster.stop)


@pytest.fixture(scope="session")
def template_db(pg_server: TestServer) -> Iterator[str]:
    pg_server.create_template(TEMPLATE_DB)
    yield TEMPLATE_DB
    pg_server.drop_database(TEMPLATE_DB)


@pytest.fixture
def database_url(pg_server: TestServer, template_db: str) -> Iterator[str]:
    """A fresh, migrated, empty database for one test (SQLAlchemy URL)."""
    name = f"fieldnav_t_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_database(name, template=template_db)
    yield url
    pg_server.drop_database(name)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def empty_database_url(pg_server: TestServer) -> Iterator[str]:
    """A fresh database with PostGIS and no fieldnav tables (for migration tests)."""
    name = f"fieldnav_e_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_database(name)
    yield url
    pg_server.drop_database(name)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"{SHARED_DATA} is missing: the reference data sets are part of the repository")
    return SHARED_DATA


@pytest.fixture
def live_server(database_url: str) -> Iterator[LiveServer]:
    """`fieldnav serve` in a subprocess on a free port, on this test's database: real HTTP."""
    server = start_server(database_url)
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def demo_database_url(pg_server: TestServer, template_db: str) -> Iterator[str]:
    """A module's own database holding 1,500 demo services (seed 11), for read-only tests."""
    from service.directory.demo_data import write_ndjson
    from service.importer import import_path

    name = f"fieldnav_demo_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_database(name, template=template_db)
    engine = create_engine(url)
    folder = PROJECT_ROOT / ".fieldnav" / "test-data"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ndjson"
    # Dated from now, so some bed counts are fresh (and others stale), as in real use.
    write_ndjson(path, 1500, 11, reference=datetime.now(UTC))
    import_path(engine, path, source="demo")
    path.unlink()
    engine.dispose()
    yield url
    pg_server.drop_database(name)


@pytest.fixture(scope="module")
def demo_server(demo_database_url: str) -> Iterator[LiveServer]:
    server = start_server(demo_database_url)
    yield server
    stop_server(server)
