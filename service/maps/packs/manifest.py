"""What a client is told about a pack: its ``offline_pack`` row as the manifest JSON
(ids, request, sizes and SHA-256s, file URLs, and the basemap part when there is one)."""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
from sqlalchemy import Connection, text

from service.maps import basemap as basemap_parts
from service.maps.packs.files import file_names
from service.maps.packs.storage import LocalStorage, PackStorage

COLUMNS = (
    "id, request_key, data_version, request, tile_count, archive_bytes, archive_sha256, service_count, "
    "snapshot_bytes, snapshot_sha256, created_at, last_used_at, storage"
)


def find_pack(connection: Connection, pack_id: uuid.UUID):
    return connection.execute(text(f"SELECT {COLUMNS} FROM offline_pack WHERE id = :id"), {"id": pack_id}).one_or_none()


def basemap_part_info(
    storage: PackStorage | Path | None, pack_id: uuid.UUID | str, connection: Connection | None = None
) -> dict | None:
    """The description of a pack's basemap part (service/maps/basemap.py) in its store, or None."""
    if storage is None:
        return None
    if isinstance(storage, (Path, LocalStorage)):
        return basemap_parts.read_part_info(storage if isinstance(storage, Path) else storage.directory, pack_id)
    _, _, part, info = file_names(pack_id)
    try:
        described = orjson.loads(storage.read(info, connection=connection))
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None
    return described if storage.exists(part, connection) else None


def manifest(row, directory: PackStorage | Path | None = None, connection: Connection | None = None) -> dict:
    pack_id = str(row.id)
    request = row.request
    basemap = basemap_part_info(directory, pack_id, connection)
    result = {
        "id": pack_id,
        "data_version": row.data_version,
        "bbox": request["bbox"],
        "min_zoom": request["min_zoom"],
        "max_zoom": request["max_zoom"],
        "categories": request["categories"],
        "tile_count": row.tile_count,
        "bytes": row.archive_bytes,
        "sha256": row.archive_sha256,
        "services": {"count": row.service_count, "bytes": row.snapshot_bytes, "sha256": row.snapshot_sha256},
        "urls": {
            "archive": f"/v1/offline/packs/{pack_id}.pmtiles",
            "services": f"/v1/offline/packs/{pack_id}/services.json",
            "manifest": f"/v1/offline/packs/{pack_id}",
        },
        "created_at": row.created_at.isoformat(),
        # The basemap tiles of the area (service/maps/basemap.py), when the server has a basemap.
        "basemap": basemap,
    }
    if basemap is not None:
        result["urls"]["basemap"] = f"/v1/offline/packs/{pack_id}/basemap.pmtiles"
    return result
