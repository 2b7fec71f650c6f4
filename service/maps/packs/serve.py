"""What ``GET /v1/offline/packs/...`` serves: a pack's files and manifest by id, marking the
pack as used (at most every ``TOUCH_INTERVAL``, so byte-range reads stay cheap)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from service.maps.packs.files import archive_name, file_names, snapshot_name
from service.maps.packs.manifest import COLUMNS, basemap_part_info, find_pack, manifest
from service.maps.packs.storage import PackStorage, PackStores, default_stores, store_of
from service.platform.problems import Problem
from service.platform.settings import PackSettings

TOUCH_INTERVAL = timedelta(minutes=10)


@dataclass(frozen=True)
class PackFile:
    storage: PackStorage
    name: str
    sha256: str
    bytes: int  # as stored
    created_at: datetime | None = None

    @property
    def path(self) -> Path | None:
        """The file on this host's disk (local storage), else None."""
        return self.storage.local_path(self.name)


def _gone(pack_id: uuid.UUID) -> Problem:
    return Problem(
        404,
        "not-found",
        f"No offline pack {pack_id}: it never existed or was removed after a "
        "long time unused. Ask for a new one with POST /v1/offline/packs.",
        detail_fr=f"Aucune zone hors ligne {pack_id} : elle n’a jamais existé, ou elle a été supprimée après "
        "une longue période sans usage. Demandez-en une nouvelle avec POST /v1/offline/packs.",
    )


def open_pack_file(
    engine: Engine,
    pack_id: uuid.UUID,
    kind: str,
    *,
    now: datetime,
    directory: Path | None = None,
    stores: PackStores | None = None,
) -> PackFile:
    """The file of a pack to serve (``kind`` "archive" or "services"), marking the pack as
    used (at most every TOUCH_INTERVAL). Raises Problem 404 when the pack is unknown or gone,
    503 pack-storage-not-shared when its files are in another host's folder."""
    stores = stores or default_stores(engine, PackSettings(), directory)
    with engine.begin() as connection:
        row = connection.execute(
            text(
                f"UPDATE offline_pack SET last_used_at = :now WHERE id = :id AND last_used_at < :stale "
                f"RETURNING {COLUMNS}"
            ),
            {"id": pack_id, "now": now, "stale": now - TOUCH_INTERVAL},
        ).one_or_none() or find_pack(connection, pack_id)
    if row is None:
        raise _gone(pack_id)
    store = store_of(stores, row)
    name = archive_name(row.id) if kind == "archive" else snapshot_name(row.id)
    size = store.size(name)
    if size is None:
        raise _gone(pack_id)
    # (The size stored: the snapshot's is that of its gzip, not the JSON's of the manifest.)
    return PackFile(store, name, row.archive_sha256 if kind == "archive" else row.snapshot_sha256, size, row.created_at)


def basemap_part_file(found: PackFile, pack_id: uuid.UUID | str) -> PackFile | None:
    """A pack's basemap part, in the store of its other files; None when it has none."""
    info = basemap_part_info(found.storage, pack_id)
    if info is None:
        return None
    return PackFile(found.storage, file_names(pack_id)[2], info["sha256"], info["bytes"], found.created_at)


def pack_manifest(
    engine: Engine, pack_id: uuid.UUID, *, directory: Path | None = None, stores: PackStores | None = None
) -> dict:
    stores = stores or default_stores(engine, PackSettings(), directory)
    with engine.connect() as connection:
        row = find_pack(connection, pack_id)
    store = store_of(stores, row) if row is not None else None
    if store is None or not store.exists(archive_name(row.id)):
        raise _gone(pack_id)
    return manifest(row, store)
