"""Building a pack, or reusing the one already built: the build transaction.

Concurrency
    A build runs under a transaction-level advisory lock on the request key, held by a
    READ COMMITTED "guard" connection that checks for an existing pack and records the new
    one. The tiles and the snapshot are read by a second connection in one REPEATABLE READ
    READ ONLY transaction started after the lock is granted, so the data version recorded
    is exactly the data the pack holds, even while an import commits. (The lock cannot live
    on the reading connection: its snapshot would predate the wait and miss the pack a
    concurrent builder just committed.) Files are written under temporary names and moved
    into place with ``os.replace``; the row is committed last. Identical concurrent POSTs
    therefore build once; the others wait and reuse it. A request whose pack exists is
    answered from one short statement, without the lock (``find_reusable``).

Build queue and storage
    Builds are bounded (per worker, and database-wide with advisory-lock slots), run on the
    packs' own connection pool and stop at a deadline: queue.py. The files go to a store
    (storage.py): the local folder, or the database itself when several hosts serve packs
    (``FIELDNAV_PACKS_STORAGE=database``); ``offline_pack.storage`` says which. With the
    database store the files are written in the row's transaction.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

import orjson
from sqlalchemy import Connection, Engine, text

from service.maps import basemap as basemap_parts
from service.maps.packs.archive import render_archive
from service.maps.packs.files import (
    archive_path,
    file_names,
    has_files,
    remove_files,
    sha256_file,
    snapshot_path,
    unlink,
)
from service.maps.packs.gc import collect_garbage
from service.maps.packs.manifest import COLUMNS, manifest
from service.maps.packs.plan import PackPlan, bytes_too_large, plan_pack
from service.maps.packs.queue import DeadlineConnection, take_database_slot
from service.maps.packs.request import PackRequest
from service.maps.packs.snapshot import write_snapshot
from service.maps.packs.storage import (
    LocalStorage,
    PackStorage,
    PackStores,
    default_stores,
    store_of,
)
from service.platform.db import read_data_version
from service.platform.settings import PackSettings

log = logging.getLogger("fieldnav.packs")


def _lock_key(request_key: str) -> int:
    return int.from_bytes(bytes.fromhex(request_key[:16]), "big", signed=True)


def _reuse(guard: Connection, plan: PackPlan, data_version: int, stores: PackStores, now: datetime):
    row = guard.execute(
        text(
            f"UPDATE offline_pack SET last_used_at = :now WHERE request_key = :key AND data_version = :version "
            f"RETURNING {COLUMNS}"
        ),
        {"now": now, "key": plan.request_key, "version": data_version},
    ).one_or_none()
    if row is None:
        return None
    # In another host's folder: that host serves it; never delete it from here (issue 15, 13).
    store = store_of(stores, row)
    if has_files(store, row.id, guard):
        return row
    # Its files are gone from a store this host reaches (removed by hand, a lost disk):
    # forget it and build again.
    guard.execute(text("DELETE FROM offline_pack WHERE id = :id"), {"id": row.id})
    remove_files(store, guard, row.id)
    return None


def find_reusable(engine: Engine, plan: PackPlan, stores: PackStores, now: datetime) -> dict | None:
    """The manifest of the pack already built for this plan at the current data version
    (marked as used), without waiting for any lock or build slot; None when there is none,
    or when its files are gone (the build under the lock sorts that out)."""
    with engine.begin() as connection:
        row = connection.execute(
            text(
                f"UPDATE offline_pack SET last_used_at = :now WHERE request_key = :key "
                f"AND data_version = (SELECT version FROM data_version WHERE id = 1) RETURNING {COLUMNS}"
            ),
            {"now": now, "key": plan.request_key},
        ).one_or_none()
        if row is None:
            return None
        store = store_of(stores, row)
        if not has_files(store, row.id, connection):
            return None
        return manifest(row, store, connection)


@dataclass
class _Built:
    tile_count: int
    archive_bytes: int
    archive_sha256: str
    service_count: int
    snapshot_bytes: int
    snapshot_sha256: str


def _build_files(
    reader: Connection,
    plan: PackPlan,
    pack_id: uuid.UUID,
    data_version: int,
    directory: Path,
    settings: PackSettings,
    now: datetime,
) -> _Built:
    archive, snapshot = archive_path(directory, pack_id), snapshot_path(directory, pack_id)
    try:
        tiles = render_archive(reader, plan, pack_id, data_version, archive, settings)
        count, snapshot_bytes, snapshot_sha = write_snapshot(reader, plan, data_version, snapshot, now)
        archive_bytes = archive.stat().st_size
        if archive_bytes + snapshot.stat().st_size > settings.max_bytes:
            raise bytes_too_large(plan, settings, None)
        if plan.basemap is not None:
            left = settings.max_bytes - archive_bytes - snapshot.stat().st_size
            try:
                basemap_parts.write_pack_part(
                    plan.basemap, directory, pack_id, plan.bbox, plan.min_zoom, plan.max_zoom, max_bytes=left
                )
            except basemap_parts.PartTooLarge:
                raise bytes_too_large(plan, settings, None) from None
        return _Built(tiles, archive_bytes, sha256_file(archive), count, snapshot_bytes, snapshot_sha)
    except BaseException:
        unlink(archive, snapshot)
        basemap_parts.remove_part(directory, pack_id)
        raise


_INSERT_SQL = f"""INSERT INTO offline_pack (id, request_key, data_version, request, tile_count, archive_bytes,
                  archive_sha256, service_count, snapshot_bytes, snapshot_sha256, created_at, last_used_at, storage)
                  VALUES (:id, :key, :version, CAST(:request AS jsonb), :tile_count, :archive_bytes,
                  :archive_sha256, :service_count, :snapshot_bytes, :snapshot_sha256, :now, :now, :storage)
                  RETURNING {COLUMNS}"""


def _record(
    guard: Connection,
    plan: PackPlan,
    pack_id: uuid.UUID,
    data_version: int,
    built: _Built,
    store: PackStorage,
    staging: Path,
    now: datetime,
) -> dict:
    """Insert the pack's row and hand its files to the store, in the guard's transaction;
    returns the manifest. The staged files are removed when anything fails."""
    try:
        row = guard.execute(
            text(_INSERT_SQL),
            {
                "id": pack_id,
                "key": plan.request_key,
                "version": data_version,
                "storage": store.location,
                "request": orjson.dumps(plan.canonical()).decode(),
                "now": now,
                **built.__dict__,
            },
        ).one()
        for name in file_names(pack_id):
            if (staging / name).is_file():
                store.put(guard, pack_id, name, staging / name)
        return manifest(row, store, guard)
    except BaseException:
        unlink(*(staging / name for name in file_names(pack_id)))
        raise


def _build_locked(
    engine: Engine,
    plan: PackPlan,
    settings: PackSettings,
    stores: PackStores,
    staging: Path,
    now: datetime,
    wait_until_s: float,
) -> tuple[dict, bool]:
    """Under the request key's lock: reuse the pack a concurrent builder just made, or take a
    build slot, build the files from one snapshot of the data, and record them."""
    store = stores.default
    with engine.connect() as guard, guard.begin():
        guard.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(plan.request_key)})
        reader_options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        with engine.connect().execution_options(**reader_options) as reader, reader.begin():
            data_version = read_data_version(reader)
            existing = _reuse(guard, plan, data_version, stores, now)
            if existing is not None:
                return manifest(existing, store_of(stores, existing), guard), False
            take_database_slot(guard, settings.max_concurrent_builds_total, wait_until_s)
            deadline_s = time.monotonic() + settings.build_timeout_s
            pack_id = uuid.uuid4()
            # (A Connection to everything it reaches: it forwards every call, refusing those past the deadline.)
            timed = cast(Connection, DeadlineConnection(reader, deadline_s, settings.build_timeout_s))
            built = _build_files(timed, plan, pack_id, data_version, staging, settings, now)
        return _record(guard, plan, pack_id, data_version, built, store, staging, now), True


def build_or_reuse(
    engine: Engine,
    request: PackRequest,
    *,
    settings: PackSettings,
    now: datetime,
    directory: Path | None = None,
    stores: PackStores | None = None,
    wait_until_s: float | None = None,
) -> tuple[dict, bool]:
    """The manifest of the pack for this request at the current data version, and whether
    it was built now (True) or reused (False). Raises Problem 422 for a refused request, 503
    when no database-wide build slot frees up by ``wait_until_s`` (time.monotonic(); default
    ``queue_wait_s`` from now) or the build outlasts ``build_timeout_s``.

    ``engine`` is the packs' own (queue.py); the caller bounds how many builds one process runs."""
    plan = plan_pack(request, settings)
    stores = stores or default_stores(engine, settings, directory)
    found = find_reusable(engine, plan, stores, now)
    if found is not None:
        return found, False
    if wait_until_s is None:
        wait_until_s = time.monotonic() + settings.queue_wait_s
    # Files are made in the local folder (moved into place there), or aside for the database.
    local = isinstance(stores.default, LocalStorage)
    staging = stores.directory if local else Path(tempfile.mkdtemp(prefix="fieldnav-pack-"))
    staging.mkdir(parents=True, exist_ok=True)
    try:
        result, built = _build_locked(engine, plan, settings, stores, staging, now, wait_until_s)
    finally:
        if not local:
            shutil.rmtree(staging, ignore_errors=True)
    if built:
        _collect_after_build(engine, stores, now, settings.keep_days)
    return result, built


def _collect_after_build(engine: Engine, stores: PackStores, now: datetime, keep_days: float) -> None:
    try:
        with engine.begin() as connection:
            collect_garbage(connection, stores, now, keep_days)
    except Exception:  # a failed clean-up must not fail the build it follows
        log.exception("offline pack garbage collection failed")
