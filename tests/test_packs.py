"""Offline packs: PMTiles archives equal to the tile endpoint, snapshots, reuse, caps, ranges, GC."""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import h3
import httpx
import pytest
from pmtiles.reader import MemorySource, Reader, all_tiles
from pmtiles.tile import Compression, TileType
from sqlalchemy import create_engine, text

from service.maps import packs
from service.maps.packs.storage import STORE_ID_FILE
from service.platform.problems import Problem
from service.platform.settings import PackSettings
from spatial.tiles import tiles_covering
from tests.support.servers import start_server, stop_server

DOWNTOWN = [-79.42, 43.63, -79.36, 43.68]
MAX_TILES = 3000
MAX_ZOOM = 16


@pytest.fixture(scope="module")
def pack_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("packs")


@pytest.fixture(scope="module")
def server(demo_database_url, pack_dir):
    live = start_server(
        demo_database_url,
        env={
            "FIELDNAV_PACKS_DIR": str(pack_dir),
            "FIELDNAV_PACKS_MAX_TILES": str(MAX_TILES),
            "FIELDNAV_PACKS_MAX_ZOOM": str(MAX_ZOOM),
            "FIELDNAV_LIMIT_EXPENSIVE_PER_MIN": "1000000",
        },
    )
    yield live
    stop_server(live)


@pytest.fixture(scope="module")
def downtown(server) -> dict:
    with server.client() as client:
        response = client.post("/v1/offline/packs", json={"bbox": DOWNTOWN, "min_zoom": 10, "max_zoom": 16})
    assert response.status_code == 201, response.text
    assert response.headers["location"] == response.json()["urls"]["manifest"]
    return response.json()


def _archive(client, manifest: dict) -> bytes:
    response = client.get(manifest["urls"]["archive"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.pmtiles"
    # Sent as stored (tiles are gzipped already): no on-the-fly compression to undo.
    assert "content-encoding" not in response.headers and response.num_bytes_downloaded == len(response.content)
    return response.content


def _assert_archive_equals_tile_endpoint(client, manifest: dict, params: dict | None = None) -> int:
    body = _archive(client, manifest)
    assert len(body) == manifest["bytes"] and hashlib.sha256(body).hexdigest() == manifest["sha256"]
    reader = Reader(MemorySource(body))
    header = reader.header()
    assert (header["min_zoom"], header["max_zoom"]) == (manifest["min_zoom"], manifest["max_zoom"])
    bounds = [
        header["min_lon_e7"] / 1e7,
        header["min_lat_e7"] / 1e7,
        header["max_lon_e7"] / 1e7,
        header["max_lat_e7"] / 1e7,
    ]
    assert bounds == pytest.approx(manifest["bbox"], abs=1e-7)
    assert header["tile_type"] == TileType.MVT and header["tile_compression"] == Compression.GZIP
    metadata = reader.metadata()
    assert metadata["data_version"] == manifest["data_version"] and metadata["pack_id"] == manifest["id"]
    assert {layer["id"] for layer in metadata["vector_layers"]} <= {"services", "clusters"} and metadata[
        "vector_layers"
    ]

    served = 0
    zooms = range(manifest["min_zoom"], manifest["max_zoom"] + 1)
    for z, x, y in tiles_covering(tuple(manifest["bbox"]), zooms):
        response = client.get(f"/v1/tiles/{z}/{x}/{y}.mvt", params=params)
        in_pack = reader.get(z, x, y)
        if response.status_code == 204:
            assert in_pack is None, f"{z}/{x}/{y} is empty on the endpoint but in the pack"
            continue
        assert response.status_code == 200
        assert in_pack is not None, f"{z}/{x}/{y} is missing from the pack"
        assert gzip.decompress(in_pack) == response.content, f"{z}/{x}/{y} differs"
        served += 1
    stored = list(all_tiles(MemorySource(body)))
    assert served == len(stored) == manifest["tile_count"] > 0
    assert header["addressed_tiles_count"] == manifest["tile_count"]
    return served


def test_archive_holds_exactly_the_tiles_the_endpoint_serves(server, downtown):
    with server.client() as client:
        count = _assert_archive_equals_tile_endpoint(client, downtown)
    assert count > 20  # clusters z10-12 and points z13-16


def test_category_packs_match_category_tiles(server):
    with server.client() as client:
        response = client.post(
            "/v1/offline/packs",
            json={"bbox": DOWNTOWN, "min_zoom": 11, "max_zoom": 15, "categories": ["shelter", "food"]},
        )
        assert response.status_code == 201
        manifest = response.json()
        assert manifest["categories"] == ["food", "shelter"]
        _assert_archive_equals_tile_endpoint(client, manifest, params={"category": "food,shelter"})
        services = client.get(manifest["urls"]["services"]).json()
    assert services["services"] and all({"food", "shelter"} & set(s["category_groups"]) for s in services["services"])


def test_services_snapshot_has_the_nearest_fields_of_every_site_in_the_area(server, downtown, demo_database_url):
    with server.client() as client:
        response = client.get(downtown["urls"]["services"])
        nearest = client.get("/v1/services/nearest", params={"lat": 43.65, "lon": -79.39, "limit": 50}).json()
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    assert response.headers["etag"].startswith('"') and "immutable" in response.headers["cache-control"]
    body = response.content  # httpx has undone the gzip encoding
    assert (
        len(body) == downtown["services"]["bytes"]
        and hashlib.sha256(body).hexdigest() == downtown["services"]["sha256"]
    )
    snapshot = response.json()
    assert snapshot["data_version"] == downtown["data_version"] and snapshot["bbox"] == downtown["bbox"]
    sites = snapshot["services"]
    assert len(sites) == downtown["services"]["count"] > 0

    # The nearest fields minus distance and the hours of the moment (stale once stored), plus
    # the hours rule (weekly or dated) for "open now" offline; the site key finds a tapped tile point.
    expected_keys = set(nearest["results"][0]) - {
        "distance_m",
        "distance_is_approximate",
        "bearing_deg",
        "hours",
        "serves_location",
    } | {
        "week_intervals",
        "open_ranges",
        "serves_area",  # the phone answers serves_location from it
    }
    assert all(set(site) == expected_keys for site in sites)
    assert "site_key" in expected_keys and len({site["site_key"] for site in sites}) == len(sites)
    public = [s for s in sites if not s["confidential"]]
    assert all(DOWNTOWN[0] <= s["lon"] <= DOWNTOWN[2] and DOWNTOWN[1] <= s["lat"] <= DOWNTOWN[3] for s in public)
    assert all(s["lat"] is None and s["lon"] is None and s["address"] is None for s in sites if s["confidential"])

    engine = create_engine(demo_database_url)
    with engine.connect() as connection:
        expected_public = connection.execute(
            text(
                "SELECT count(*) FROM service_site WHERE NOT is_private AND status = 'active' "
                "AND geom && ST_MakeEnvelope(:a, :b, :c, :d, 4326)"
            ),
            dict(zip("abcd", DOWNTOWN, strict=True)),
        ).scalar_one()
        expected_private = connection.execute(
            text(
                "SELECT count(*) FROM service_site WHERE is_private AND status = 'active' "
                "AND coarse_geom && ST_MakeEnvelope(:a, :b, :c, :d, 4326)"
            ),
            dict(zip("abcd", DOWNTOWN, strict=True)),
        ).scalar_one()
    engine.dispose()
    assert len(public) == expected_public and len(sites) - len(public) == expected_private


def test_archive_ranges_etag_and_not_modified(server, downtown):
    with server.client() as client:
        full = _archive(client, downtown)
        url = downtown["urls"]["archive"]
        head = client.get(url, headers={"Range": "bytes=0-126"})
        assert head.status_code == 206
        assert head.headers["content-range"] == f"bytes 0-126/{len(full)}"
        assert head.content[:7] == b"PMTiles" and len(head.content) == 127

        middle = client.get(url, headers={"Range": "bytes=1000-4999"})
        assert middle.status_code == 206 and middle.content == full[1000:5000]
        tail = client.get(url, headers={"Range": "bytes=-100"})
        assert tail.status_code == 206 and tail.content == full[-100:]

        etag = head.headers["etag"]
        assert etag == f'"{downtown["sha256"]}"'
        assert head.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
        resumed = client.get(url, headers={"Range": "bytes=10-19", "If-Range": etag})
        assert resumed.status_code == 206 and resumed.content == full[10:20]
        changed = client.get(url, headers={"Range": "bytes=10-19", "If-Range": '"something-else"'})
        assert changed.status_code == 200 and changed.content == full
        assert client.get(url, headers={"Range": f"bytes={len(full) + 10}-"}).status_code == 416

        services = client.get(downtown["urls"]["services"])
        assert (
            client.get(downtown["urls"]["services"], headers={"If-None-Match": services.headers["etag"]}).status_code
            == 304
        )
        plain = client.get(downtown["urls"]["services"], headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200 and "content-encoding" not in plain.headers
        assert hashlib.sha256(plain.content).hexdigest() == downtown["services"]["sha256"]


def test_same_request_reuses_the_pack(server, downtown):
    with server.client() as client:
        again = client.post(
            "/v1/offline/packs", json={"max_zoom": 16, "min_zoom": 10, "bbox": DOWNTOWN, "categories": []}
        )
        assert again.status_code == 200 and again.json() == downtown
        manifest = client.get(downtown["urls"]["manifest"])
        assert manifest.status_code == 200 and manifest.json() == downtown
        missing = client.get(f"/v1/offline/packs/{uuid.uuid4()}")
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
        assert client.get(f"/v1/offline/packs/{uuid.uuid4()}.pmtiles").status_code == 404
        assert client.get(f"/v1/offline/packs/{uuid.uuid4()}/services.json").status_code == 404


def test_identical_concurrent_requests_build_once(server, pack_dir):
    body = {"bbox": [-79.50, 43.70, -79.45, 43.74], "min_zoom": 12, "max_zoom": 15}
    answers = []

    def post():
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            answers.append(client.post("/v1/offline/packs", json=body))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({a.json()["id"] for a in answers}) == 1
    pack_id = answers[0].json()["id"]
    assert sorted(p.name for p in pack_dir.iterdir() if p.name.startswith(pack_id)) == [
        f"{pack_id}.pmtiles",
        f"{pack_id}.services.json.gz",
    ]
    assert not [p for p in pack_dir.iterdir() if packs.TEMP_MARK in p.name]


def test_h3_cells_cover_the_union_of_their_boundaries(server):
    cells = [h3.latlng_to_cell(43.66, -79.40, 7), h3.latlng_to_cell(43.64, -79.37, 7)]
    lats = [lat for c in cells for lat, _ in h3.cell_to_boundary(c)]
    lons = [lon for c in cells for _, lon in h3.cell_to_boundary(c)]
    with server.client() as client:
        response = client.post("/v1/offline/packs", json={"h3_cells": cells, "min_zoom": 12, "max_zoom": 13})
        assert response.status_code == 201, response.text
        bbox = response.json()["bbox"]
        assert bbox[0] <= min(lons) and bbox[1] <= min(lats) and bbox[2] >= max(lons) and bbox[3] >= max(lats)
        assert bbox == pytest.approx([min(lons), min(lats), max(lons), max(lats)], abs=2e-6)
        # The same area asked as a bbox is the same pack.
        same = client.post("/v1/offline/packs", json={"bbox": bbox, "min_zoom": 12, "max_zoom": 13})
        assert same.status_code == 200 and same.json()["id"] == response.json()["id"]


def test_too_many_tiles_is_refused_with_how_to_shrink(server):
    body = {"bbox": [-80.0, 43.3, -78.8, 44.2], "min_zoom": 8, "max_zoom": 16}
    with server.client() as client:
        response = client.post("/v1/offline/packs", json=body)
        assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["type"].endswith("/pack-too-large")
        suggested = problem["suggested_max_zoom"]
        assert f"lower max_zoom to {suggested}" in problem["detail"] and 8 <= suggested < 16
        assert problem["tile_count"] > MAX_TILES == problem["max_tiles"]
        # Following the advice works.
        smaller = client.post("/v1/offline/packs", json={**body, "max_zoom": suggested})
        assert smaller.status_code == 201 and smaller.json()["max_zoom"] == suggested

        huge = client.post("/v1/offline/packs", json={"bbox": [-95, 41, -74, 57], "min_zoom": 12, "max_zoom": 12})
        assert huge.status_code == 422 and "smaller area" in huge.json()["detail"]


def test_too_many_bytes_aborts_and_leaves_no_file(demo_database_url, tmp_path):
    engine = create_engine(demo_database_url)
    settings = PackSettings(max_bytes=4_000, dir=tmp_path)
    request = packs.PackRequest(bbox=DOWNTOWN, min_zoom=11, max_zoom=16)  # not built by the server yet
    try:
        with pytest.raises(Problem) as refused:
            packs.build_or_reuse(engine, request, settings=settings, now=datetime.now(UTC), directory=tmp_path)
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT count(*) FROM offline_pack WHERE request_key = :key"),
                {"key": packs.plan_pack(request, settings).request_key},
            ).scalar_one()
    finally:
        engine.dispose()
    assert refused.value.status == 422 and refused.value.slug == "pack-too-large"
    suggested = refused.value.extra["suggested_max_zoom"]
    assert 11 <= suggested < 16 and f"lower max_zoom to {suggested}" in refused.value.detail
    assert list(tmp_path.iterdir()) == [] and rows == 0


@pytest.mark.parametrize(
    "body, field",
    [
        ({"min_zoom": 10, "max_zoom": 12}, "body"),
        ({"bbox": DOWNTOWN, "h3_cells": ["872b9bd55ffffff"], "min_zoom": 10, "max_zoom": 12}, "body"),
        ({"bbox": DOWNTOWN[:3], "min_zoom": 10, "max_zoom": 12}, "body.bbox"),
        ({"bbox": [-79.3, 43.6, -79.4, 43.7], "min_zoom": 10, "max_zoom": 12}, "body.bbox"),
        ({"bbox": [-79.4, 43.6, -79.3, 95], "min_zoom": 10, "max_zoom": 12}, "body.bbox"),
        ({"bbox": DOWNTOWN, "min_zoom": 13, "max_zoom": 12}, "body"),
        ({"bbox": DOWNTOWN, "min_zoom": 10, "max_zoom": 17}, "body.max_zoom"),
        ({"bbox": DOWNTOWN, "min_zoom": 10}, "body.max_zoom"),
        ({"bbox": DOWNTOWN, "min_zoom": 10, "max_zoom": 12, "colour": "red"}, "body.colour"),
        ({"h3_cells": ["not-a-cell"], "min_zoom": 10, "max_zoom": 12}, "body.h3_cells"),
        ({"h3_cells": [], "min_zoom": 10, "max_zoom": 12}, "body.h3_cells"),
        ({"h3_cells": ["872b9bd55ffffff"] * 501, "min_zoom": 10, "max_zoom": 12}, "body.h3_cells"),
        (
            {"bbox": DOWNTOWN, "min_zoom": 10, "max_zoom": 12, "categories": ["shelter", "spaceships"]},
            "body.categories",
        ),
    ],
)
def test_bad_bodies_are_422_problems(server, body, field):
    with server.client() as client:
        response = client.post("/v1/offline/packs", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].rsplit("/", 1)[1] in ("validation-error", "unknown-category")
    assert any(e["field"].startswith(field) for e in problem["errors"]), problem


def test_a_body_that_is_not_json_is_a_422_problem(server):
    with server.client() as client:
        response = client.post("/v1/offline/packs", content=b"{bbox", headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"


# --- garbage collection, on a database of its own ------------------------------------------


def _age(engine, pack_id: str, *, days: float) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE offline_pack SET last_used_at = last_used_at - make_interval(secs => :s), "
                "created_at = created_at - make_interval(secs => :s) WHERE id = :id"
            ),
            {"s": days * 86400, "id": pack_id},
        )


def _old_file(path: Path, *, hours: float) -> Path:
    path.write_bytes(b"x")
    stamp = time.time() - hours * 3600
    os.utime(path, (stamp, stamp))
    return path


def test_garbage_collection_removes_unused_superseded_and_orphan_packs(engine, tmp_path):
    now = datetime.now(UTC)
    settings = PackSettings(dir=tmp_path)

    def build(bbox):
        manifest, created = packs.build_or_reuse(
            engine,
            packs.PackRequest(bbox=bbox, min_zoom=10, max_zoom=11),
            settings=settings,
            now=now,
            directory=tmp_path,
        )
        assert created
        return manifest

    # An empty directory gives empty, but valid, archives.
    unused, superseded_recent, superseded_idle, fresh = (
        build([-79.4 + i / 10, 43.6, -79.35 + i / 10, 43.7]) for i in range(4)
    )
    reader = Reader(MemorySource(packs.archive_path(tmp_path, fresh["id"]).read_bytes()))
    assert reader.header()["max_zoom"] == 11 and fresh["tile_count"] == 0 and fresh["services"]["count"] == 0

    _age(engine, unused["id"], days=15)
    _age(engine, superseded_idle["id"], days=2)
    _age(engine, superseded_recent["id"], days=0.1)
    with engine.begin() as connection:
        connection.execute(text("UPDATE data_version SET version = version + 1"))
        connection.execute(
            text("UPDATE offline_pack SET data_version = version FROM data_version WHERE offline_pack.id = :id"),
            {"id": fresh["id"]},
        )
    orphan = _old_file(tmp_path / f"{uuid.uuid4()}.pmtiles", hours=2)
    young_orphan = _old_file(tmp_path / f"{uuid.uuid4()}.pmtiles", hours=0.1)
    stale_temp = _old_file(tmp_path / f"{uuid.uuid4()}.pmtiles{packs.TEMP_MARK}abc", hours=2)
    unrelated = _old_file(tmp_path / "README.txt", hours=48)

    with engine.begin() as connection:
        collected = packs.collect_garbage(connection, tmp_path, now, keep_days=14)
        left = {str(i) for i in connection.execute(text("SELECT id FROM offline_pack")).scalars()}
    assert left == {superseded_recent["id"], fresh["id"]}
    assert collected.packs == 2 and collected.files == 2 * 2 + 2
    for gone in (unused, superseded_idle):
        assert (
            not packs.archive_path(tmp_path, gone["id"]).exists()
            and not packs.snapshot_path(tmp_path, gone["id"]).exists()
        )
    for kept in (superseded_recent, fresh):
        assert packs.archive_path(tmp_path, kept["id"]).exists() and packs.snapshot_path(tmp_path, kept["id"]).exists()
    assert not orphan.exists() and not stale_temp.exists() and young_orphan.exists() and unrelated.exists()


def test_packs_gc_command(database_url, tmp_path):
    import subprocess
    import sys

    engine = create_engine(database_url)
    try:
        manifest, _ = packs.build_or_reuse(
            engine,
            packs.PackRequest(bbox=DOWNTOWN, min_zoom=10, max_zoom=10),
            settings=PackSettings(dir=tmp_path),
            now=datetime.now(UTC),
            directory=tmp_path,
        )
        _age(engine, manifest["id"], days=30)
        result = subprocess.run(
            [sys.executable, "-m", "service.maps.cli", "packs", "gc"],
            env={**os.environ, "FIELDNAV_DATABASE_URL": database_url, "FIELDNAV_PACKS_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert result.returncode == 0, result.stderr
        assert "removed 1 packs and 2 files" in result.stdout
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM offline_pack")).scalar_one() == 0
    finally:
        engine.dispose()
    assert [p.name for p in tmp_path.iterdir()] == [
        STORE_ID_FILE
    ]  # the folder's own id (service/maps/packs/storage.py)


def test_a_collected_pack_is_404_and_rebuilt_on_request(server, demo_database_url, pack_dir):
    body = {"bbox": [-79.40, 43.64, -79.38, 43.66], "min_zoom": 14, "max_zoom": 14}
    engine = create_engine(demo_database_url)
    try:
        with server.client() as client:
            first = client.post("/v1/offline/packs", json=body).json()
            _age(engine, first["id"], days=30)
            with engine.begin() as connection:
                packs.collect_garbage(connection, pack_dir, datetime.now(UTC), 14)
            assert not packs.archive_path(pack_dir, first["id"]).exists()
            assert client.get(first["urls"]["manifest"]).status_code == 404
            assert client.get(first["urls"]["archive"]).status_code == 404
            again = client.post("/v1/offline/packs", json=body)
            assert again.status_code == 201 and again.json()["id"] != first["id"]
    finally:
        engine.dispose()
