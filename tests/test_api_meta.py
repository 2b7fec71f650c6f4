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
        assert root.status_code == 200 and root.headers["content-type"] == "application/json"
        assert root.json() == {
            "name": "fieldnav",
            "version": __version__,
            "data_version": 0,
            "links": {"app": "/app/", "docs": "/docs", "openapi": "/openapi.json"},
            # FIELDNAV_BASEMAP_STYLE_URL's default, and the test server's open directory reads.
            "basemap_style_url": "https://tiles.openfreemap.org/styles/liberty",
            "public_reads": True,
        }
        assert root.headers["vary"] == "Accept, Accept-Language"


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


def test_a_browser_at_the_root_finds_the_app_and_the_api_docs(live_server):
    with live_server.client() as client:
        page = client.get("/", headers={"Accept": BROWSER_ACCEPT})
        assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["vary"] == "Accept, Accept-Language"
        assert '<html lang="en">' in page.text
        for href in ("/app/", "/docs", "/openapi.json"):
            assert f'<a href="{href}">' in page.text
            assert client.get(href, headers={"Accept": BROWSER_ACCEPT}).status_code == 200, href
        french = client.get("/", headers={"Accept": BROWSER_ACCEPT, "Accept-Language": "fr-CA,fr;q=0.9"})
        assert '<html lang="fr">' in french.text and "L’application de terrain" in french.text
        # API clients keep JSON: no Accept, */*, JSON first, or JSON ranked above HTML.
        for accept in (None, "*/*", "application/json", "text/html;q=0.5, application/json", "text/*;q=0.1, */*"):
            headers = {"Accept": accept} if accept else {}
            answer = client.get("/", headers=headers)
            assert answer.headers["content-type"] == "application/json", accept
            assert answer.json()["links"]["app"] == "/app/"


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
    from tests.support.servers import start_server, stop_server

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
    from tests.support.servers import free_port, start_server, stop_server

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
