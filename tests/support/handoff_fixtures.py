"""The handoff fixtures, registered for every test by tests/conftest.py (pytest_plugins): a
module's own database with the test centres loaded, an engine on it, `fieldnav serve` on it
with the handoff settings, and a client of that server. A module that defines a fixture of
the same name (``client``) uses its own."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine

from tests.support.handoffs import HANDOFF_ENV, load_test_centres
from tests.support.servers import start_server, stop_server


@pytest.fixture(scope="module")
def handoff_database_url(pg_server, template_db, tmp_path_factory):
    """A module's own database with the test centres loaded."""
    name = f"fieldnav_h_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_database(name, template=template_db)
    load_test_centres(url, tmp_path_factory.mktemp("centres"))
    yield url
    pg_server.drop_database(name)


@pytest.fixture(scope="module")
def handoff_engine(handoff_database_url):
    engine = create_engine(handoff_database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def handoff_server(handoff_database_url):
    server = start_server(handoff_database_url, env=HANDOFF_ENV)
    yield server
    stop_server(server)


@pytest.fixture
def client(handoff_server):
    with handoff_server.client() as http:
        yield http
