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
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine, create_engine, make_url

from service.platform import migrate
from service.platform.embedded_db import EmbeddedCluster
from tests import cluster_users

# The browser tests' fixtures (web build, server, Chromium, phone), shared by their modules.
pytest_plugins = ["tests.browser.fixtures"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Open Referral reference data (HSDS 3.0 schemas and examples, the Miami 211 export): tests/data/README.md
SHARED_DATA = PROJECT_ROOT / "tests" / "data"
TEMPLATE_DB = f"fieldnav_template_{os.getpid()}"

TEST_OWNER_ROLE = "fieldnav_test_owner"
TEST_APP_ROLE = "fieldnav_test_app"
# Throw-away servers only (and over the private cluster's socket connections are trusted).
TEST_ROLE_PASSWORD = "fieldnav-test-role"
_GRANTED_TEMPLATES: set[str] = set()  # migrated as the owner, with the app role's grants
_APP_URLS: dict[str, str] = {}  # superuser URL of a copy of one of them -> the app role's URL


def app_url_for(database_url: str) -> str:
    """The application role's URL of a database copied from the template (what the API
    connects as); any other URL as it is."""
    return _APP_URLS.get(database_url, database_url)


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _sqlalchemy(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@dataclass
class TestServer:
    """A PostGIS server the tests may create databases on."""

    admin_url: str  # superuser, libpq form

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(_libpq(self.admin_url), autocommit=True)

    def create_database(self, name: str, template: str | None = None, owner: str | None = None) -> str:
        """A database (with PostGIS, or a copy of ``template``); its superuser URL. A copy of
        the migrated template is owned by TEST_OWNER_ROLE and registered for ``app_url_for``."""
        granted = template in _GRANTED_TEMPLATES
        owner = owner or (TEST_OWNER_ROLE if granted else None)
        with self._admin() as connection:
            query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if owner:
                query += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
            if template:
                query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            connection.execute(query)
            if not template:
                with psycopg.connect(self.database_admin_url(name), autocommit=True) as db:
                    db.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        url = _sqlalchemy(self.database_admin_url(name))
        if granted:
            _APP_URLS[url] = self.role_url(name, TEST_APP_ROLE)
        return url

    def drop_database(self, name: str) -> None:
        with self._admin() as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        _APP_URLS.pop(_sqlalchemy(self.database_admin_url(name)), None)

    def ensure_roles(self) -> None:
        """The owner and application roles (cluster-wide, shared by concurrent sessions, kept)."""
        with self._admin() as connection:
            for role, limits in ((TEST_OWNER_ROLE, ""), (TEST_APP_ROLE, " NOSUPERUSER NOCREATEDB NOCREATEROLE")):
                query = sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}" + limits).format(
                    sql.Identifier(role), sql.Literal(TEST_ROLE_PASSWORD))
                try:
                    connection.execute(query)
                except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
                    pass  # made by an earlier or concurrent session

    def role_url(self, name: str, role: str) -> str:
        """SQLAlchemy URL of database ``name`` as ``role``."""
        url = make_url(_sqlalchemy(self.admin_url)).set(database=name, username=role, password=TEST_ROLE_PASSWORD)
        return url.render_as_string(hide_password=False)

    def database_admin_url(self, name: str) -> str:
        url = make_url(_sqlalchemy(self.admin_url)).set(database=name)
        return _libpq(url.render_as_string(hide_password=False))


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
    pg_server.drop_database(TEMPLATE_DB)
    pg_server.ensure_roles()
    pg_server.create_database(TEMPLATE_DB, owner=TEST_OWNER_ROLE)
    migrate.upgrade(pg_server.role_url(TEMPLATE_DB, TEST_OWNER_ROLE), app_role=TEST_APP_ROLE)
    _GRANTED_TEMPLATES.add(TEMPLATE_DB)
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_in_thread(app) -> Iterator[httpx.Client]:
    """``app`` served by uvicorn in a thread of this process (real HTTP on a free port, with
    the app as the test built it: dependency overrides, a changed middleware stack); yields a
    client for it."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline_s = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline_s:
            time.sleep(0.02)
        assert server.started, "uvicorn did not start within 10 s"
        with httpx.Client(base_url=f"http://127.0.0.1:{server.config.port}", timeout=20) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(10)


# Most tests are about data, not identity: directory reads are public and the rate limit
# out of reach there. tests/test_auth.py turns both back on.
TEST_SERVER_ENV = {"FIELDNAV_AUTH_PUBLIC_READS": "true", "FIELDNAV_LIMIT_REQUESTS_PER_MIN": "1000000"}


@dataclass
class LiveServer:
    base_url: str
    process: subprocess.Popen
    log_file: object = None

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, **{"timeout": 10, **kwargs})


def start_server(database_url: str, *, workers: int = 1, env: dict | None = None) -> LiveServer:
    """`fieldnav serve` on ``database_url``: as the application role on a copy of the template."""
    port = free_port()
    environment = {**os.environ, "FIELDNAV_DATABASE_URL": app_url_for(database_url), **TEST_SERVER_ENV, **(env or {})}
    # Output goes to a file, not a pipe: a pipe nobody reads fills up (access logs) and
    # the server then blocks on its next log line.
    log_file = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=environment, cwd=PROJECT_ROOT, stdout=log_file, stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline_s = time.monotonic() + 30
    while time.monotonic() < deadline_s:
        if process.poll() is not None:
            raise RuntimeError(f"fieldnav serve exited with {process.returncode}:\n{_read_log(log_file)}")
        try:
            if httpx.get(base_url + "/healthz", timeout=1).status_code == 200:
                return LiveServer(base_url, process, log_file)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("fieldnav serve did not answer /healthz within 30 s")


def _read_log(log_file) -> str:
    log_file.seek(0)
    return log_file.read().decode(errors="replace")


def stop_server(server: LiveServer) -> str:
    """Stop the server; returns everything it wrote."""
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    output = _read_log(server.log_file)
    server.log_file.close()
    return output


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
    write_ndjson(path, 1500, 11, reference=datetime.now(timezone.utc))
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
