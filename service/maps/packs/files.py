"""A pack's files: their names, their paths while being written, and their presence in a store.

- ``<id>.pmtiles``: the services' tiles (archive.py);
- ``<id>.services.json.gz``: the services snapshot (snapshot.py);
- ``<id>.basemap.pmtiles`` and ``<id>.basemap.json``: the basemap's tiles of the area and
  their description, when a basemap is configured (service/maps/basemap.py).

Files are written under temporary names (``TEMP_MARK``) and moved into place with
``os.replace``. Pack ids are random (uuid4), never derived from the request: a pack's files
never change for an id, so they are served ``immutable``; a rebuild gets a new id.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

from sqlalchemy import Connection

from service.maps import basemap as basemap_parts
from service.maps.packs.storage import PackStorage

ARCHIVE_SUFFIX = ".pmtiles"
SNAPSHOT_SUFFIX = ".services.json.gz"
TEMP_MARK = ".tmp-"


def archive_name(pack_id: uuid.UUID | str) -> str:
    return f"{pack_id}{ARCHIVE_SUFFIX}"


def snapshot_name(pack_id: uuid.UUID | str) -> str:
    return f"{pack_id}{SNAPSHOT_SUFFIX}"


def file_names(pack_id: uuid.UUID | str) -> tuple[str, ...]:
    """Every file a pack may have, in its store: archive, snapshot, basemap part, its description."""
    return (
        archive_name(pack_id),
        snapshot_name(pack_id),
        f"{pack_id}{basemap_parts.PART_SUFFIX}",
        f"{pack_id}{basemap_parts.INFO_SUFFIX}",
    )


def is_pack_file(name: str) -> bool:
    """A name a pack's file (or one being written) may have in a pack folder."""
    return TEMP_MARK in name or name.endswith((ARCHIVE_SUFFIX, SNAPSHOT_SUFFIX, basemap_parts.INFO_SUFFIX))


def archive_path(directory: Path, pack_id: uuid.UUID | str) -> Path:
    return directory / archive_name(pack_id)


def snapshot_path(directory: Path, pack_id: uuid.UUID | str) -> Path:
    return directory / snapshot_name(pack_id)


def temp_path(final: Path) -> Path:
    return final.with_name(f"{final.name}{TEMP_MARK}{uuid.uuid4().hex}")


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def unlink(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def has_files(store: PackStorage, pack_id: uuid.UUID | str, connection: Connection | None = None) -> bool:
    return store.exists(archive_name(pack_id), connection) and store.exists(snapshot_name(pack_id), connection)


def remove_files(store: PackStorage, connection: Connection | None, pack_id: uuid.UUID | str) -> int:
    return sum(store.delete(connection, name) for name in file_names(pack_id))
