"""Offline packs on several hosts (issue 15, 13): pack files in a store every host shares.

Before, a pack's files lived on the disk of the host that built it while its row was shared:
another host answered 404 for it, and a POST there found "its files gone", deleted the row
and built again, so two hosts rebuilt each other's packs forever. Now the files go to a store
(service/maps/packs/storage.py): the local folder (one host; a row in another host's folder is left
alone, 503 pack-storage-not-shared) or the database (every host). Two real `fieldnav serve`
processes with folders of their own, on one database."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from service.maps.packs.storage import (
    CHUNK_BYTES,
    STORE_ID_FILE,
    DatabaseStorage,
    LocalStorage,
    PackStores,
    RangeReader,
)
from tests.support import PROJECT_ROOT
from tests.support.databases import app_url_for
from tests.support.servers import start_server, stop_server

AREA = {"bbox": [-79.42, 43.63, -79.36, 43.68], "min_zoom": 10, "max_zoom": 16}


@pytest.fixture(scope="module")
def admin(demo_database_url):
    engine = create_engine(demo_database_url)
    yield engine
    engine.dispose()


def _two_hosts(url: str, tmp_path: Path, storage: str):
    env = {"FIELDNAV_PACKS_STORAGE": storage, "FIELDNAV_LIMIT_EXPENSIVE_PER_MIN": "1000000"}
    first = start_server(url, env={**env, "FIELDNAV_PACKS_DIR": str(tmp_path / "host-a")})
    try:
        second = start_server(url, env={**env, "FIELDNAV_PACKS_DIR": str(tmp_path / "host-b")})
    except BaseException:
        stop_server(first)
        raise
    return first, second


def _pack_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != STORE_ID_FILE) if folder.is_dir() else []


def _age(engine, pack_id: str, days: float) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE offline_pack SET last_used_at = now() - make_interval(days => :d) WHERE id = :id"),
            {"d": days, "id": pack_id},
        )


def test_with_the_database_store_a_pack_built_on_one_host_is_served_by_another(demo_database_url, admin, tmp_path):
    a, b = _two_hosts(demo_database_url, tmp_path, "database")
    try:
        with a.client(timeout=120) as on_a, b.client(timeout=60) as on_b:
            built = on_a.post("/v1/offline/packs", json={**AREA, "categories": ["food"]})
            assert built.status_code == 201, built.text
            manifest = built.json()
            # The other host knows it: the same manifest, and the same request reuses it.
            assert on_b.get(manifest["urls"]["manifest"]).json() == manifest
            again = on_b.post("/v1/offline/packs", json={**AREA, "categories": ["food"]})
            assert again.status_code == 200 and again.json() == manifest

            url = manifest["urls"]["archive"]
            full = on_b.get(url)
            assert full.status_code == 200 and full.headers["content-type"] == "application/vnd.pmtiles"
            body = full.content
            assert len(body) == manifest["bytes"] and hashlib.sha256(body).hexdigest() == manifest["sha256"]
            assert full.headers["etag"] == f'"{manifest["sha256"]}"' and full.headers["content-length"] == str(
                len(body)
            )
            assert on_a.get(url).content == body

            # Byte ranges, If-Range, If-None-Match and 416 as from a file.
            head = on_b.get(url, headers={"Range": "bytes=0-126"})
            assert head.status_code == 206 and head.headers["content-range"] == f"bytes 0-126/{len(body)}"
            assert head.content == body[:127] and head.content.startswith(b"PMTiles")
            middle = on_b.get(url, headers={"Range": "bytes=1000-4999"})
            assert middle.status_code == 206 and middle.content == body[1000:5000]
            tail = on_b.get(url, headers={"Range": "bytes=-100"})
            assert tail.status_code == 206 and tail.content == body[-100:]
            several = on_b.get(url, headers={"Range": "bytes=0-9, 2000-2009"})
            assert several.status_code == 206 and several.headers["content-type"].startswith("multipart/byteranges")
            assert body[:10] in several.content and body[2000:2010] in several.content
            etag = full.headers["etag"]
            assert on_b.get(url, headers={"If-None-Match": etag}).status_code == 304
            resumed = on_b.get(url, headers={"Range": "bytes=10-19", "If-Range": etag})
            assert resumed.status_code == 206 and resumed.content == body[10:20]
            assert on_b.get(url, headers={"Range": "bytes=10-19", "If-Range": '"other"'}).content == body
            refused = on_b.get(url, headers={"Range": f"bytes={len(body) + 5}-"})
            assert refused.status_code == 416 and refused.headers["content-range"] == f"bytes */{len(body)}"

            services = on_b.get(manifest["urls"]["services"])
            assert services.status_code == 200 and services.headers["content-encoding"] == "gzip"
            assert hashlib.sha256(services.content).hexdigest() == manifest["services"]["sha256"]
            plain = on_b.get(manifest["urls"]["services"], headers={"Accept-Encoding": "identity"})
            assert plain.status_code == 200 and plain.content == services.content
            assert (
                on_b.get(manifest["urls"]["services"], headers={"If-None-Match": services.headers["etag"]}).status_code
                == 304
            )

            # Nothing on either host's disk: the files are in the database.
            assert _pack_files(tmp_path / "host-a") == [] and _pack_files(tmp_path / "host-b") == []
            with admin.connect() as connection:
                assert (
                    connection.execute(
                        text("SELECT storage FROM offline_pack WHERE id = :id"), {"id": manifest["id"]}
                    ).scalar_one()
                    == "database"
                )
                stored = dict(
                    connection.execute(
                        text("SELECT name, bytes FROM offline_pack_file WHERE pack_id = :id"), {"id": manifest["id"]}
                    ).all()
                )
            assert stored == {
                f"{manifest['id']}.pmtiles": manifest["bytes"],
                f"{manifest['id']}.services.json.gz": int(services.headers["content-length"]),
            }

            # Garbage collection run from one host removes it for both.
            _age(admin, manifest["id"], 30)
            result = subprocess.run(
                [sys.executable, "-m", "service.maps.cli", "packs", "gc"],
                env={
                    **os.environ,
                    "FIELDNAV_DATABASE_URL": app_url_for(demo_database_url),
                    "FIELDNAV_PACKS_STORAGE": "database",
                    "FIELDNAV_PACKS_DIR": str(tmp_path / "host-a"),
                },
                capture_output=True,
                text=True,
                timeout=60,
                cwd=PROJECT_ROOT,
            )
            assert result.returncode == 0, result.stderr
            assert "removed 1 packs and 2 files" in result.stdout
            for client in (on_a, on_b):
                assert client.get(url).status_code == 404
                assert client.get(manifest["urls"]["manifest"]).status_code == 404
            with admin.connect() as connection:
                left = connection.execute(
                    text(
                        "SELECT (SELECT count(*) FROM offline_pack_file WHERE name LIKE :n), "
                        "(SELECT count(*) FROM offline_pack_chunk WHERE name LIKE :n)"
                    ),
                    {"n": f"{manifest['id']}%"},
                ).one()
            assert tuple(left) == (0, 0)
    finally:
        stop_server(a)
        stop_server(b)


def test_with_local_storage_a_second_host_no_longer_deletes_a_pack_the_first_serves(demo_database_url, admin, tmp_path):
    a, b = _two_hosts(demo_database_url, tmp_path, "local")
    body = {**AREA, "max_zoom": 14, "categories": ["shelter"]}
    try:
        with a.client(timeout=120) as on_a, b.client(timeout=120) as on_b:
            built = on_a.post("/v1/offline/packs", json=body)
            assert built.status_code == 201
            manifest = built.json()
            # Host B shares the database but not the folder: before, it found "the files gone",
            # deleted the row and built its own (201, another id), and host A's pack was 404.
            there = on_b.post("/v1/offline/packs", json=body)
            assert there.status_code == 503, there.text
            assert there.json()["type"].endswith("/pack-storage-not-shared") and "retry-after" in there.headers
            assert "FIELDNAV_PACKS_STORAGE=database" in there.json()["detail"]
            assert on_b.get(manifest["urls"]["archive"]).status_code == 503  # not "never existed" (404)
            # Host A still has it and still serves it.
            assert on_a.get(manifest["urls"]["archive"]).content[:7] == b"PMTiles"
            assert on_a.post("/v1/offline/packs", json=body).json()["id"] == manifest["id"]
            with admin.connect() as connection:
                rows = connection.execute(
                    text(
                        "SELECT id::text, storage FROM offline_pack WHERE request_key = "
                        "(SELECT request_key FROM offline_pack WHERE id = :id)"
                    ),
                    {"id": manifest["id"]},
                ).all()
            folder_id = (tmp_path / "host-a" / STORE_ID_FILE).read_text().strip()
            assert [tuple(r) for r in rows] == [(manifest["id"], f"local:{folder_id}")]
            assert _pack_files(tmp_path / "host-a") == [
                f"{manifest['id']}.pmtiles",
                f"{manifest['id']}.services.json.gz",
            ]
            assert _pack_files(tmp_path / "host-b") == []
    finally:
        stop_server(a)
        stop_server(b)


# --- the store interface, on both backends ---------------------------------------------------------


@pytest.fixture
def pack_row(engine):
    """An offline_pack row (files in the database belong to a pack)."""
    pack_id = uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(
            text("""INSERT INTO offline_pack (id, request_key, data_version, request, tile_count, archive_bytes,
                                   archive_sha256, service_count, snapshot_bytes, snapshot_sha256, storage)
                                   VALUES (:id, :key, 0, '{}', 0, 0, '', 0, 0, '', 'database')"""),
            {"id": pack_id, "key": uuid.uuid4().hex},
        )
    return pack_id


@pytest.mark.parametrize("kind", ["local", "database"])
def test_both_stores_put_read_ranges_and_delete_alike(kind, engine, pack_row, tmp_path):
    store = LocalStorage(tmp_path / "packs") if kind == "local" else DatabaseStorage(engine, chunk_bytes=1000)
    (tmp_path / "packs").mkdir()
    data = os.urandom(10_500)  # ten chunks of 1,000 bytes and a short one
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    name = f"{pack_row}.pmtiles"
    assert not store.exists(name) and store.size(name) is None
    with engine.begin() as connection:
        store.put(connection, pack_row, name, source)
    assert store.exists(name) and store.size(name) == len(data)
    assert store.read(name) == data
    for start, end in [(0, 1), (0, 1000), (999, 1001), (2500, 7321), (10_000, 10_500), (10_499, None), (5, 5)]:
        assert store.read(name, start, end) == data[start:end], (start, end)
    reader = RangeReader(store, name, len(data), chunk_bytes=1000)
    reader.seek(1500)
    pieces = [reader.read(700) for _ in range(14)]
    assert b"".join(pieces) == data[1500:] and pieces[-1] == b""
    with pytest.raises(FileNotFoundError):
        store.read(f"{uuid.uuid4()}.pmtiles")
    with engine.begin() as connection:
        assert store.delete(connection, name) and not store.delete(connection, name)
    assert not store.exists(name)


def test_a_range_reads_only_the_chunks_it_covers(engine, pack_row, tmp_path):
    store = DatabaseStorage(engine, chunk_bytes=1000)
    data = os.urandom(10_000)
    (tmp_path / "f").write_bytes(data)
    name = f"{pack_row}.pmtiles"
    with engine.begin() as connection:
        store.put(connection, pack_row, name, tmp_path / "f")
        # Take away every chunk but the 4th and 5th: a range within them still reads.
        connection.execute(text("DELETE FROM offline_pack_chunk WHERE name = :n AND seq NOT IN (3, 4)"), {"n": name})
    assert store.read(name, 3100, 4900) == data[3100:4900]
    with pytest.raises(FileNotFoundError):
        store.read(name, 2900, 3100)  # the 3rd chunk is gone
    with engine.connect() as connection:
        storage = connection.execute(
            text(
                "SELECT attstorage FROM pg_attribute WHERE attrelid = 'offline_pack_chunk'::regclass "
                "AND attname = 'data'"
            )
        ).scalar_one()
    assert storage == "e" and CHUNK_BYTES == 1024 * 1024  # stored as is: the contents are gzip already


def test_a_pack_row_chooses_its_store(engine, tmp_path):
    stores = PackStores("database", tmp_path / "mine", engine)
    assert stores.default is stores.database
    assert stores.for_location("database") is stores.database
    assert stores.for_location(None) is stores.local  # built before stores were recorded: this folder
    assert stores.for_location(stores.local.location) is stores.local
    assert stores.for_location(f"local:{uuid.uuid4().hex}") is None  # another host's folder
    # The folder's id is made once and kept (every worker and restart agrees on it).
    assert PackStores("local", tmp_path / "mine", engine).local.location == stores.local.location


def test_the_basemap_part_goes_to_the_database_with_its_pack(database_url, tmp_path, monkeypatch):
    from datetime import datetime

    from service.maps import packs
    from service.platform.settings import PackSettings, basemap_settings
    from tests.browser.basemap import write_basemap

    archive = tmp_path / "basemap.pmtiles"
    write_basemap(archive)
    monkeypatch.setenv("FIELDNAV_BASEMAP_PMTILES", str(archive))
    basemap_settings.cache_clear()
    engine = create_engine(database_url)
    try:
        stores = PackStores("database", tmp_path / "packs", engine)
        now = datetime.now(UTC)
        manifest, created = packs.build_or_reuse(
            engine,
            packs.PackRequest(**{**AREA, "max_zoom": 12}),
            settings=PackSettings(storage="database"),
            now=now,
            stores=stores,
        )
        assert created and manifest["basemap"]["tile_count"] > 0
        found = packs.open_pack_file(engine, uuid.UUID(manifest["id"]), "archive", now=now, stores=stores)
        part = packs.basemap_part_file(found, manifest["id"])
        body = part.storage.read(part.name)
        assert part.path is None and hashlib.sha256(body).hexdigest() == manifest["basemap"]["sha256"] == part.sha256
        assert packs.pack_manifest(engine, uuid.UUID(manifest["id"]), stores=stores) == manifest
        assert _pack_files(tmp_path / "packs") == []
        with engine.begin() as connection:
            connection.execute(text("UPDATE offline_pack SET last_used_at = now() - interval '60 days'"))
            collected = packs.collect_garbage(connection, stores, now, 14)
        assert (collected.packs, collected.files) == (1, 4)
    finally:
        monkeypatch.delenv("FIELDNAV_BASEMAP_PMTILES")
        basemap_settings.cache_clear()
        engine.dispose()
