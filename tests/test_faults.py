"""Faults on the real stack: the database stops and comes back, the pool runs dry, an import
is killed, and hostile input arrives."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, text

from service.directory.demo_data import write_ndjson
from service.importer import import_path
from service.platform import migrate
from service.platform.embedded_db import EmbeddedCluster
from tests.support import PROJECT_ROOT
from tests.support.servers import start_server, stop_server

TORONTO = {"lat": 43.6532, "lon": -79.3832}


@pytest.fixture(scope="module")
def own_cluster():
    """A cluster of this module's own, so stopping it hurts no other test."""
    cluster = EmbeddedCluster(PROJECT_ROOT / ".fieldnav" / f"test-faults-{uuid.uuid4().hex[:8]}", durable=False)
    cluster.start()
    yield cluster
    cluster.stop()
    shutil.rmtree(cluster.base_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def loaded_url(own_cluster, tmp_path_factory):
    url = own_cluster.create_database("faults")
    migrate.upgrade(url)
    path = tmp_path_factory.mktemp("faults") / "demo.ndjson"
    write_ndjson(path, 400, 5)
    engine = create_engine(url)
    import_path(engine, path, source="demo")
    engine.dispose()
    return url


def _timed_get(client: httpx.Client, url: str, **kwargs) -> tuple[httpx.Response, float]:
    started_s = time.monotonic()
    response = client.get(url, **kwargs)
    return response, time.monotonic() - started_s


def test_database_outage_gives_503_fast_serves_cache_and_recovers(own_cluster, loaded_url):
    server = start_server(loaded_url, env={"FIELDNAV_POOL_TIMEOUT_S": "1", "FIELDNAV_DATA_VERSION_TTL_S": "0.2"})
    try:
        with server.client(timeout=30) as client:
            nearest = client.get("/v1/services/nearest", params=TORONTO).json()
            service_id = nearest["results"][0]["service_id"]
            tile_url = "/v1/tiles/14/4576/5976.mvt"
            warm_tile = client.get(tile_url)
            warm_detail = client.get(f"/v1/services/{service_id}")
            assert warm_tile.status_code in (200, 204) and warm_detail.status_code == 200

            own_cluster.stop()
            time.sleep(0.5)

            down, elapsed_s = _timed_get(client, "/v1/services/nearest", params=TORONTO)
            assert down.status_code == 503 and elapsed_s < 6, (down.status_code, elapsed_s)
            assert down.headers["content-type"] == "application/problem+json" and "retry-after" in down.headers
            assert client.get("/readyz").status_code == 503
            assert client.get("/healthz").status_code == 200
            # From this worker's caches: the tile and the service detail it has seen.
            tile = client.get(tile_url)
            assert tile.status_code == warm_tile.status_code and tile.content == warm_tile.content
            detail = client.get(f"/v1/services/{service_id}")
            assert detail.status_code == 200 and detail.json() == warm_detail.json()
            # Not cached: an honest 503, quickly.
            other, elapsed_s = _timed_get(client, f"/v1/services/{uuid.uuid4()}")
            assert other.status_code == 503 and elapsed_s < 6

            own_cluster.start()
            deadline_s = time.monotonic() + 20
            while time.monotonic() < deadline_s:
                if client.get("/v1/services/nearest", params=TORONTO).status_code == 200:
                    break
                time.sleep(0.3)
            again = client.get("/v1/services/nearest", params=TORONTO)
            assert again.status_code == 200
            assert [r["service_id"] for r in again.json()["results"]] == [r["service_id"] for r in nearest["results"]]
            assert client.get("/readyz").status_code == 200
    finally:
        own_cluster.start()
        stop_server(server)


def test_an_exhausted_pool_answers_503_instead_of_queueing(own_cluster, loaded_url):
    server = start_server(
        loaded_url,
        env={"FIELDNAV_POOL_SIZE": "1", "FIELDNAV_POOL_TIMEOUT_S": "0.5", "FIELDNAV_STATEMENT_TIMEOUT_MS": "8000"},
    )
    blocker = psycopg.connect(loaded_url.replace("postgresql+psycopg://", "postgresql://"))
    try:
        with server.client(timeout=30) as client:
            assert client.get("/v1/services/nearest", params=TORONTO).status_code == 200
            blocker.execute("LOCK TABLE service_site IN ACCESS EXCLUSIVE MODE")  # holds until rollback
            first: dict = {}
            holder = threading.Thread(
                target=lambda: first.update(r=client.get("/v1/services/nearest", params={**TORONTO, "limit": 3}))
            )
            holder.start()
            time.sleep(0.5)  # the first request now holds the only connection, waiting on the lock
            with httpx.Client(base_url=server.base_url, timeout=30) as second_client:
                second, elapsed_s = _timed_get(second_client, "/v1/services/nearest", params={**TORONTO, "limit": 4})
            assert second.status_code == 503 and elapsed_s < 3, (second.status_code, elapsed_s)
            assert second.headers["content-type"] == "application/problem+json"
            blocker.rollback()
            holder.join(15)
            assert first["r"].status_code == 200
            assert client.get("/v1/services/nearest", params=TORONTO).status_code == 200
    finally:
        blocker.close()
        stop_server(server)


def _snapshot(url: str) -> tuple:
    engine = create_engine(url)
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT (SELECT version FROM data_version), (SELECT count(*) FROM change_log), (SELECT count(*) FROM service),"
                " (SELECT count(*) FROM service_site), (SELECT coalesce(sum(hashtext(content_hash)), 0) FROM service)"
            )
        ).one()
    engine.dispose()
    return tuple(row)


def test_an_import_killed_mid_way_leaves_the_database_as_it_was(own_cluster, loaded_url, tmp_path):
    before = _snapshot(loaded_url)
    big = tmp_path / "big.ndjson"
    write_ndjson(big, 20_000, 99)
    env = {**os.environ, "FIELDNAV_DATABASE_URL": loaded_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "import", str(big), "--source", "demo"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    admin = psycopg.connect(loaded_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    try:
        # Wait until the import is inside its transaction, writing, then kill it hard.
        deadline_s = time.monotonic() + 120
        writing = False
        while time.monotonic() < deadline_s and process.poll() is None:
            writing = admin.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'fieldnav' "
                "AND state = 'active' AND query ILIKE 'COPY%')"
            ).fetchone()[0]
            if writing:
                break
            time.sleep(0.05)
        assert writing, "the import never reached its writes"
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        # The server notices the dead client and rolls its transaction back.
        deadline_s = time.monotonic() + 30
        while (
            time.monotonic() < deadline_s
            and admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fieldnav' AND datname = current_database()"
            ).fetchone()[0]
        ):
            time.sleep(0.1)
    finally:
        admin.close()
        if process.poll() is None:
            process.kill()
    assert _snapshot(loaded_url) == before


HOSTILE = [
    ("GET", "/v1/services/nearest?lat=1e308&lon=0", None),
    ("GET", "/v1/services/nearest?lat=NaN&lon=Infinity", None),
    ("GET", "/v1/services/nearest?lat=43&lon=-79&limit=99999999999999999999", None),
    ("GET", "/v1/services?bbox=-180,-90,180,90", None),
    ("GET", "/v1/services?near=43,-79&page=-1", None),
    ("GET", "/v1/tiles/99/0/0.mvt", None),
    ("GET", "/v1/tiles/3/9/9.mvt", None),
    ("GET", "/v1/tiles/-1/0/0.mvt", None),
    ("GET", "/v1/tiles/abc/0/0.mvt", None),
    ("GET", "/v1/services/..%2F..%2Fetc%2Fpasswd", None),
    ("GET", "/v1/offline/packs/..%2F..%2F..%2Fetc%2Fpasswd.pmtiles", None),
    ("GET", "/v1/offline/packs/%00.pmtiles", None),
    ("GET", "/v1/sync/services?cursor=%FF%FE%00garbage", None),
    ("POST", "/v1/offline/packs", b"[" * 5000 + b"]" * 5000),
    ("POST", "/v1/offline/packs", b'{"bbox": [0, 0, 1, 1], "min_zoom": 0, "max_zoom": 99999}'),
    ("POST", "/v1/offline/packs", b'{"bbox": [-180, -85, 180, 85], "min_zoom": 0, "max_zoom": 16}'),
    ("POST", "/v1/offline/packs", b"\xff\xfe not json"),
    ("POST", "/v1/offline/packs", b'{"bbox": "1,2,3,4; DROP TABLE offline_pack"}'),
]


@pytest.mark.parametrize("method, url, body", HOSTILE, ids=[f"{m} {u[:50]}" for m, u, _ in HOSTILE])
def test_hostile_input_gets_4xx_never_5xx(demo_server, method, url, body):
    with demo_server.client() as client:
        response = client.request(
            method, url, content=body, headers={"Content-Type": "application/json"} if body else {}
        )
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/problem+json")


def test_injection_text_is_just_text(demo_server, demo_database_url):
    with demo_server.client() as client:
        body = client.get("/v1/services", params={"q": "'); DELETE FROM service; --"}).json()
    assert body["total_items"] == 0
    engine = create_engine(demo_database_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM service")).scalar_one() == 1500
    engine.dispose()


@pytest.mark.parametrize("query", ["q=%ff%fe", "q=caf%e9", "q=a%00b", "lat=4%003&lon=-79"])
def test_query_strings_that_are_not_text_get_400(demo_server, query):
    with demo_server.client() as client:
        response = client.get("/v1/services?" + query)
    assert response.status_code == 400 and response.headers["content-type"] == "application/problem+json"
