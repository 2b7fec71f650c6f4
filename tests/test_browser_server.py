"""The server side of the field client: the built app at /app/ (service/api/routes/app_static.py),
the optional basemap (/v1/basemap.json, /v1/basemap/{z}/{x}/{y}) and the basemap part of
offline packs (service/maps/basemap.py), on the real stack."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import mapbox_vector_tile
import pytest
from pmtiles.reader import MemorySource, Reader, all_tiles
from pmtiles.tile import Compression, TileType
from sqlalchemy import create_engine, text

from service.api.app import create_app
from service.api.routes import app_static
from service.auth.principal import Role
from service.auth.tokens import create_token
from service.maps import basemap
from service.maps.packs.storage import STORE_ID_FILE
from spatial.tiles import tile_range
from tests.browser import ensure_web_build
from tests.browser.basemap import TORONTO_BBOX, write_basemap
from tests.support.servers import start_server, stop_server

DOWNTOWN = [-79.42, 43.63, -79.36, 43.68]


def _bearer(role: Role = Role.FIELD_WORKER) -> dict:
    return {
        "Authorization": f"Bearer {create_token(agency='demo', role=role, subject='w-1', ttl=timedelta(hours=1))[0]}"
    }


@pytest.fixture(scope="module")
def basemap_tiles(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("basemap") / "toronto.pmtiles"
    return path, write_basemap(path)


@pytest.fixture(scope="module")
def server(demo_database_url, basemap_tiles, tmp_path_factory):
    live = start_server(
        demo_database_url,
        env={
            "FIELDNAV_AUTH_PUBLIC_READS": "false",
            "FIELDNAV_BASEMAP_PMTILES": str(basemap_tiles[0]),
            "FIELDNAV_PACKS_DIR": str(tmp_path_factory.mktemp("packs")),
            "FIELDNAV_LIMIT_EXPENSIVE_PER_MIN": "1000",
        },
    )
    yield live
    stop_server(live)


@pytest.fixture(scope="module")
def client(server):
    with server.client(headers=_bearer()) as c:
        yield c


# --- the field client's files -------------------------------------------------------------


@pytest.fixture(scope="module")
def web_dist():
    return ensure_web_build()


def test_the_app_is_served_at_app_with_its_own_policy(server, web_dist):
    with server.client() as anonymous:  # no token: the app itself is public, it asks for one
        page = anonymous.get("/app/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-cache" and page.headers["etag"]
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "worker-src 'self' blob:" in csp
        assert "unsafe-eval" not in csp and page.headers["x-content-type-options"] == "nosniff"
        assert anonymous.get("/app/", headers={"If-None-Match": page.headers["etag"]}).status_code == 304
        assert anonymous.head("/app/").status_code == 200

        redirect = anonymous.get("/app", follow_redirects=False)
        assert redirect.status_code == 308 and redirect.headers["location"] == "/app/"

        asset = next(p for p in (web_dist / "assets").iterdir() if p.suffix == ".js")
        served = anonymous.get(f"/app/assets/{asset.name}")
        assert served.status_code == 200 and served.headers["content-type"].startswith("text/javascript")
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
        worker = next(p for p in (web_dist / "assets").iterdir() if p.suffix == ".mjs")
        assert anonymous.get(f"/app/assets/{worker.name}").headers["content-type"].startswith("text/javascript")

        sw = anonymous.get("/app/sw.js")
        assert sw.status_code == 200 and sw.headers["service-worker-allowed"] == "/app/"
        assert sw.headers["cache-control"] == "no-cache" and f"/app/assets/{asset.name}" in sw.text
        manifest = anonymous.get("/app/manifest.webmanifest")
        assert manifest.headers["content-type"] == "application/manifest+json"
        assert manifest.json()["scope"] == "/app/" and manifest.json()["start_url"] == "/app/"
        assert anonymous.get("/app/icons/icon-192.png").headers["content-type"] == "image/png"

        for bad in (
            "/app/nope.js",
            "/app/../service/platform/settings.py",
            "/app/%2e%2e/pyproject.toml",
            "/app/assets/",
        ):
            missing = anonymous.get(bad)
            assert missing.status_code == 404, bad
            assert missing.headers["content-type"] == "application/problem+json"


def test_without_a_build_the_app_answers_503_saying_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setattr(app_static, "DIST_DIR", tmp_path / "dist")
    app = create_app(engine=create_engine("postgresql+psycopg://nobody@localhost/none"))

    async def get():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fieldnav.test") as local:
            return await local.get("/app/")

    response = asyncio.run(get())
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (
        problem["type"].endswith("/app-not-built")
        and "npm ci" in problem["detail"]
        and "npm run build" in problem["detail"]
    )


def test_the_demo_sign_in_link_carries_the_token_in_the_fragment(monkeypatch, capsys):
    assert (
        app_static.sign_in_link("http://127.0.0.1:8000/", "abc.def.ghi")
        == "http://127.0.0.1:8000/app/#token=abc.def.ghi"
    )
    token = create_token(agency="demo", role=Role.FIELD_WORKER, subject="demo-worker", ttl=timedelta(hours=12))[0]
    monkeypatch.setattr("sys.stdin", io.StringIO(token + "\n"))
    assert app_static.main() == 0
    out = capsys.readouterr().out
    assert f"/app/#token={token}" in out and "field_worker of agency demo" in out


# --- the basemap -----------------------------------------------------------------------------


def test_basemap_tilejson_and_tiles(client, basemap_tiles):
    _, tiles = basemap_tiles
    document = client.get("/v1/basemap.json")
    assert document.status_code == 200, document.text
    tj = document.json()
    assert tj["format"] == "pbf" and tj["type"] == "vector" and (tj["minzoom"], tj["maxzoom"]) == (8, 14)
    assert [layer["id"] for layer in tj["vector_layers"]] == ["land", "water"]
    assert tj["bounds"] == pytest.approx(list(TORONTO_BBOX), abs=1e-6)
    template = tj["tiles"][0]
    assert template.endswith(f"/v1/basemap/{{z}}/{{x}}/{{y}}?v={tj['version']}")

    (z, x, y), expected = next((k, v) for k, v in tiles.items() if k[0] == 12)
    url = template.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))
    path = url[url.index("/v1/") :]
    response = client.get(path)  # httpx decodes Content-Encoding: gzip
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert response.headers["content-encoding"] == "gzip"
    # Read with a token (FIELDNAV_AUTH_PUBLIC_READS=false): kept for good, by the caller only.
    assert response.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert response.content == expected and "land" in mapbox_vector_tile.decode(response.content)
    assert client.get(path, headers={"If-None-Match": response.headers["etag"]}).status_code == 304
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == expected
    assert "immutable" not in client.get(f"/v1/basemap/{z}/{x}/{y}").headers["cache-control"]

    assert client.get("/v1/basemap/12/0/0").status_code == 204  # outside the archive
    assert client.get("/v1/basemap/3/1/1").status_code == 204  # below its zooms
    out_of_range = client.get("/v1/basemap/3/9/1")
    assert out_of_range.status_code == 404 and out_of_range.headers["cache-control"] == "no-store"


def test_basemap_needs_a_token_like_the_directory(server):
    with server.client() as anonymous:
        assert anonymous.get("/v1/basemap.json").status_code == 401
        assert anonymous.get("/v1/basemap/12/1143/1493").status_code == 401


def test_without_a_basemap_the_endpoints_say_so(database_url):
    live = start_server(database_url)  # public reads, no FIELDNAV_BASEMAP_PMTILES
    try:
        with live.client() as c:
            for path in ("/v1/basemap.json", "/v1/basemap/12/1143/1493"):
                response = c.get(path)
                assert response.status_code == 404 and response.headers["cache-control"] == "no-store"
                assert response.json()["type"].endswith("/basemap-not-configured")
    finally:
        stop_server(live)


def test_an_unreadable_basemap_is_503_and_logged_not_shown(database_url, tmp_path):
    broken = tmp_path / "broken.pmtiles"
    broken.write_bytes(b"not a pmtiles archive" * 10)
    live = start_server(database_url, env={"FIELDNAV_BASEMAP_PMTILES": str(broken)})
    try:
        with live.client() as c:
            response = c.get("/v1/basemap.json")
            assert response.status_code == 503 and str(tmp_path) not in response.text
            # Packs go on without a basemap.
            pack = c.post("/v1/offline/packs", json={"bbox": DOWNTOWN, "min_zoom": 12, "max_zoom": 12})
            assert pack.status_code == 201 and pack.json()["basemap"] is None and "basemap" not in pack.json()["urls"]
    finally:
        output = stop_server(live)
    assert "not a PMTiles v3 archive" in output


def test_basemap_reader_handles_leaf_directories(tmp_path):
    # Enough distinct tiles for the writer to need leaf directories.
    import random

    from pmtiles.tile import zxy_to_tileid
    from pmtiles.writer import Writer

    rng = random.Random(7)
    cells = rng.sample([(x, y) for x in range(512) for y in range(512)], 30_000)
    content = {(x, y): f"{x}/{y}".encode() * rng.randint(1, 5) for x, y in cells}
    path = tmp_path / "big.pmtiles"
    with path.open("wb") as f:
        writer = Writer(f)
        for _, x, y in sorted((zxy_to_tileid(9, x, y), x, y) for x, y in cells):
            writer.write_tile(zxy_to_tileid(9, x, y), content[(x, y)])
        writer.finalize({"tile_compression": Compression.NONE, "tile_type": TileType.PNG}, {"name": "big"})
    archive = basemap.Basemap(path)
    assert archive.header["leaf_directory_length"] > 0 and archive.media_type == "image/png"
    for x, y in rng.sample(cells, 500):
        assert archive.tile(9, x, y) == content[(x, y)]
    absent = next((x, y) for x in range(512) for y in range(512) if (x, y) not in content)
    assert archive.tile(9, *absent) is None and archive.tile(8, 1, 1) is None
    assert archive.tilejson("t")["type"] == "raster" and "vector_layers" not in archive.tilejson("t")


# --- basemap tiles in offline packs ------------------------------------------------------------


def test_packs_carry_the_basemap_tiles_of_their_area(client, basemap_tiles):
    _, tiles = basemap_tiles
    created = client.post("/v1/offline/packs", json={"bbox": DOWNTOWN, "min_zoom": 10, "max_zoom": 16})
    assert created.status_code == 201, created.text
    manifest = created.json()
    info = manifest["basemap"]
    # The basemap stops at z14: the pack keeps z10-14 of it (the phone overzooms past 14).
    assert (
        (info["min_zoom"], info["max_zoom"]) == (10, 14)
        and info["format"] == "pbf"
        and info["layers"] == ["land", "water"]
    )
    assert manifest["urls"]["basemap"] == f"/v1/offline/packs/{manifest['id']}/basemap.pmtiles"

    response = client.get(manifest["urls"]["basemap"])
    assert response.status_code == 200 and response.headers["content-type"] == "application/vnd.pmtiles"
    assert "content-encoding" not in response.headers
    body = response.content
    assert len(body) == info["bytes"] and hashlib.sha256(body).hexdigest() == info["sha256"]
    assert response.headers["etag"] == f'"{info["sha256"]}"'
    reader = Reader(MemorySource(body))
    header = reader.header()
    assert header["tile_type"] == TileType.MVT and header["tile_compression"] == Compression.GZIP
    assert reader.metadata()["pack_id"] == manifest["id"]
    stored = {zxy: gzip.decompress(data) for zxy, data in all_tiles(MemorySource(body))}
    wanted = {}
    for z in range(10, 15):
        min_x, min_y, max_x, max_y = tile_range(tuple(manifest["bbox"]), z)
        wanted.update({(z, x, y): tiles[(z, x, y)] for x in range(min_x, max_x + 1) for y in range(min_y, max_y + 1)})
    assert stored == wanted and info["tile_count"] == len(wanted)

    partial = client.get(manifest["urls"]["basemap"], headers={"Range": "bytes=0-126"})
    assert partial.status_code == 206 and partial.content == body[:127]
    assert (
        client.get(manifest["urls"]["basemap"], headers={"If-None-Match": response.headers["etag"]}).status_code == 304
    )

    again = client.post("/v1/offline/packs", json={"bbox": DOWNTOWN, "min_zoom": 10, "max_zoom": 16})
    assert again.status_code == 200 and again.json() == manifest
    assert client.get(manifest["urls"]["manifest"]).json() == manifest


def test_a_pack_above_the_basemaps_zooms_gets_its_top_zoom_and_one_outside_gets_none(client):
    above = client.post("/v1/offline/packs", json={"bbox": DOWNTOWN, "min_zoom": 15, "max_zoom": 16}).json()
    assert (above["basemap"]["min_zoom"], above["basemap"]["max_zoom"]) == (14, 14)
    elsewhere = client.post(
        "/v1/offline/packs", json={"bbox": [-75.75, 45.38, -75.65, 45.45], "min_zoom": 12, "max_zoom": 13}
    )
    assert elsewhere.status_code == 201 and elsewhere.json()["basemap"] is None
    missing = client.get(f"/v1/offline/packs/{elsewhere.json()['id']}/basemap.pmtiles")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert client.get(f"/v1/offline/packs/{uuid.uuid4()}/basemap.pmtiles").status_code == 404


def test_a_new_basemap_archive_is_not_answered_with_a_pack_built_without_it(database_url, tmp_path):
    from service.maps import packs
    from service.platform.settings import PackSettings

    engine = create_engine(database_url)
    settings = PackSettings(dir=tmp_path / "packs")
    request = packs.PackRequest(bbox=DOWNTOWN, min_zoom=12, max_zoom=12)
    try:
        plain = packs.plan_pack(request, settings)
        assert plain.basemap is None and "basemap" not in plain.canonical()
        archive = tmp_path / "basemap.pmtiles"
        write_basemap(archive)
        os.environ["FIELDNAV_BASEMAP_PMTILES"] = str(archive)
        from service.platform.settings import basemap_settings

        basemap_settings.cache_clear()
        with_basemap = packs.plan_pack(request, settings)
        assert with_basemap.canonical()["basemap"] == with_basemap.basemap.version
        assert with_basemap.request_key != plain.request_key
        manifest, created = packs.build_or_reuse(
            engine, request, settings=settings, now=datetime.now(UTC), directory=settings.dir
        )
        assert created and manifest["basemap"]["tile_count"] > 0
        # Garbage collection removes the basemap part with its pack.
        with engine.begin() as connection:
            connection.execute(text("UPDATE offline_pack SET last_used_at = now() - interval '60 days'"))
            collected = packs.collect_garbage(connection, settings.dir, datetime.now(UTC), settings.keep_days)
        assert collected.packs == 1 and collected.files == 4
        assert not [p for p in settings.dir.iterdir() if p.name != STORE_ID_FILE]  # the folder's id stays
    finally:
        os.environ.pop("FIELDNAV_BASEMAP_PMTILES", None)
        from service.platform.settings import basemap_settings

        basemap_settings.cache_clear()
        engine.dispose()
