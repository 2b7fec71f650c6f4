"""The minimal API over real HTTP (`fieldnav serve` in a subprocess, real PostGIS)."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from service import __version__


def test_health_ready_and_root(live_server, database_url):
    with live_server.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}

        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "database": "ok", "migrations": "current"}

        root = client.get("/")
        assert root.status_code == 200
        assert root.json() == {"name": "fieldnav", "version": __version__, "data_version": 0}


def test_root_follows_the_data_version(live_server, database_url):
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE data_version SET version = 41"))
    engine.dispose()
    import time

    time.sleep(1.2)  # FIELDNAV_DATA_VERSION_TTL_S defaults to 1 s
    with live_server.client() as client:
        assert client.get("/").json()["data_version"] == 41


def test_unknown_paths_and_methods_are_problem_json(live_server):
    with live_server.client() as client:
        missing = client.get("/no/such/thing")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        body = missing.json()
        assert body["type"].endswith("/not-found") and body["status"] == 404 and body["instance"] == "/no/such/thing"

        wrong_method = client.post("/healthz")
        assert wrong_method.status_code == 405
        assert wrong_method.headers["content-type"] == "application/problem+json"


def test_readyz_is_503_when_migrations_are_pending(empty_database_url):
    from tests.conftest import start_server, stop_server

    server = start_server(empty_database_url)
    try:
        with server.client() as client:
            response = client.get("/readyz")
            assert response.status_code == 503
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["type"].endswith("/migrations-pending")
            assert client.get("/healthz").status_code == 200
    finally:
        stop_server(server)


def test_readyz_is_503_when_the_database_is_unreachable():
    from tests.conftest import free_port, start_server, stop_server

    server = start_server(f"postgresql://nobody:nothing@127.0.0.1:{free_port()}/none")
    try:
        with server.client() as client:
            response = client.get("/readyz")
            assert response.status_code == 503
            assert response.json()["type"].endswith("/unavailable")
            root = client.get("/")
            assert root.status_code == 503 and root.headers["content-type"] == "application/problem+json"
    finally:
        stop_server(server)
