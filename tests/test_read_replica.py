"""FIELDNAV_DATABASE_READ_URL against a real streaming replica made with pg_basebackup."""

from __future__ import annotations

import json
import shutil
import time
import uuid

import mapbox_vector_tile
import psycopg
import pytest
from sqlalchemy import create_engine, text

from service.directory.demo_data import write_ndjson
from service.importer import import_path
from service.platform import migrate
from service.platform.embedded_db import EmbeddedCluster
from spatial.tiles import tile_for_lonlat
from tests.support import PROJECT_ROOT
from tests.support.hsds_services import scheduled_service
from tests.support.servers import start_server, stop_server

TORONTO = {"lat": 43.6532, "lon": -79.3832}


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="module")
def primary_and_replica(tmp_path_factory):
    root = PROJECT_ROOT / ".fieldnav" / f"test-replica-{uuid.uuid4().hex[:8]}"
    primary = EmbeddedCluster(root / "primary", durable=False)
    primary_url = primary.start()
    migrate.upgrade(primary_url)
    path = tmp_path_factory.mktemp("replica") / "demo.ndjson"
    write_ndjson(path, 300, 8)
    engine = create_engine(primary_url)
    import_path(engine, path, source="demo")
    engine.dispose()
    replica = primary.create_standby(root / "replica")
    replica_url = replica.start()
    yield primary, primary_url, replica, replica_url
    replica.stop()
    primary.stop()
    shutil.rmtree(root, ignore_errors=True)


def _transactions(url: str) -> int:
    """Transactions run in the fieldnav database on one server (each server counts its own,
    a standby included)."""
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        connection.execute("SELECT pg_stat_clear_snapshot()")
        row = connection.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(row[0])


def _wait_for_replay(primary_url: str, replica_url: str, timeout_s: float = 20) -> None:
    with psycopg.connect(_libpq(primary_url), autocommit=True) as primary:
        target = primary.execute("SELECT version FROM data_version").fetchone()[0]
    deadline_s = time.monotonic() + timeout_s
    while time.monotonic() < deadline_s:
        with psycopg.connect(_libpq(replica_url), autocommit=True) as replica:
            if replica.execute("SELECT version FROM data_version").fetchone()[0] >= target:
                return
        time.sleep(0.1)
    raise AssertionError("the replica did not catch up")


def test_reads_go_to_the_replica_and_writes_to_the_primary(primary_and_replica):
    _primary, primary_url, _replica, replica_url = primary_and_replica
    with psycopg.connect(_libpq(replica_url)) as connection:
        assert connection.execute("SELECT pg_is_in_recovery()").fetchone()[0], "a real standby"
    server = start_server(primary_url, env={"FIELDNAV_DATABASE_READ_URL": replica_url})
    primary_before, replica_before = _transactions(primary_url), _transactions(replica_url)
    try:
        with server.client() as client:
            for _ in range(20):
                assert client.get("/v1/services/nearest", params=TORONTO).status_code == 200
            assert client.get("/v1/services", params={"q": "food"}).status_code == 200
            # A write: an offline pack is recorded on the primary.
            pack = client.post(
                "/v1/offline/packs", json={"bbox": [-79.40, 43.64, -79.37, 43.66], "min_zoom": 12, "max_zoom": 13}
            )
            assert pack.status_code == 201, pack.text
    finally:
        # Backends report their statistics when they end (idle ones only every 10 s):
        # stopping the server closes its pools, so the counts below are complete.
        stop_server(server)
    time.sleep(0.5)
    # 21 reads on the replica; the primary only sees the pack build, the rate limiter's
    # batched counts and the data version, far fewer than one per read.
    assert _transactions(replica_url) - replica_before >= 21
    assert _transactions(primary_url) - primary_before < 15
    with psycopg.connect(_libpq(primary_url)) as connection:
        assert (
            connection.execute("SELECT count(*) FROM offline_pack WHERE id = %s", (pack.json()["id"],)).fetchone()[0]
            == 1
        )


def test_a_new_data_version_reaches_every_worker_cache(primary_and_replica, tmp_path):
    _primary, primary_url, _replica, replica_url = primary_and_replica
    server = start_server(
        primary_url, workers=2, env={"FIELDNAV_DATABASE_READ_URL": replica_url, "FIELDNAV_DATA_VERSION_TTL_S": "0.2"}
    )
    x, y = tile_for_lonlat(-79.3832, 43.6532, 16)
    tile_url = f"/v1/tiles/16/{x}/{y}.mvt"
    try:
        with server.client() as client:
            before = {client.get(tile_url).content for _ in range(20)}
            assert len(before) == 1  # both workers hold the same (old) tile
            # An import on the primary adds a service inside that tile.
            new = scheduled_service("Replica Test Drop-in", [], category_code="TC-1700")
            new["service_at_locations"][0]["location"].update(latitude=43.65320, longitude=-79.38320)
            path = tmp_path / "new.json"
            path.write_text(json.dumps([new]))
            engine = create_engine(primary_url)
            import_path(engine, path, source="replica-test")
            engine.dispose()
            _wait_for_replay(primary_url, replica_url)
            time.sleep(0.5)
            after = [client.get(tile_url) for _ in range(20)]
        assert all(r.status_code == 200 for r in after)
        names = [
            {f["properties"]["name"] for f in mapbox_vector_tile.decode(r.content)["services"]["features"]}
            for r in after
        ]
        assert all("Replica Test Drop-in" in n for n in names), "every worker serves the new tile"
    finally:
        stop_server(server)


def test_a_replica_that_is_down_falls_back_to_the_primary(primary_and_replica):
    _primary, primary_url, replica, replica_url = primary_and_replica
    server = start_server(primary_url, env={"FIELDNAV_DATABASE_READ_URL": replica_url})
    try:
        replica.stop()
        with server.client() as client:
            assert client.get("/v1/services/nearest", params=TORONTO).status_code == 200
    finally:
        replica.start()
        stop_server(server)
    with create_engine(replica_url).connect() as connection:
        assert connection.execute(text("SELECT pg_is_in_recovery()")).scalar_one()
