"""Where offline pack files live: a small interface, a local folder and the database.

A pack is a row of ``offline_pack`` (shared by every host through PostgreSQL) and a few
files named ``<id>.pmtiles``, ``<id>.services.json.gz`` and, with a basemap,
``<id>.basemap.pmtiles`` and ``<id>.basemap.json`` (files.py). The files go to one of
two stores, chosen by ``FIELDNAV_PACKS_STORAGE``:

``local`` (the default, for one host)
    The folder ``FIELDNAV_PACKS_DIR``. Fast (the kernel sends the file), nothing to set up,
    but only the host that built a pack has its files. The folder carries an id of its own
    (``.fieldnav-pack-store``, made on first use) that each pack row records
    (``offline_pack.storage = 'local:<id>'``), so a host that shares the database but not the
    folder knows a pack is *elsewhere* rather than *lost*: it answers 503
    ``pack-storage-not-shared`` and never deletes the row another host serves (which made
    two hosts rebuild each other's packs forever). Several hosts need ``database``.

``database`` (several hosts)
    The files themselves in PostgreSQL (migration 0013): ``offline_pack_file`` (name, pack,
    size) and ``offline_pack_chunk`` (``CHUNK_BYTES`` = 1 MiB pieces, ``bytea`` stored
    uncompressed: the contents are gzip already). A pack's files are written in the same
    transaction as its row, and deleting the row deletes them (``ON DELETE CASCADE``): a
    pack is never half there, and garbage collection from any host removes it for all. A
    byte range reads only the chunks it covers. Reads go through the packs' own connection
    pool (queue.py), never the requests' pool.

Which store serves a pack is decided by its row, not by the setting: a host switched from
``local`` to ``database`` still serves the packs its folder holds, until they expire.
Rows from before 0013 (``storage`` NULL) are taken to be in this host's folder.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from service.platform.problems import Problem
from service.platform.settings import PackSettings, path_settings

log = logging.getLogger("fieldnav.pack_storage")

CHUNK_BYTES = 1024 * 1024
DATABASE = "database"
LOCAL_PREFIX = "local:"
STORE_ID_FILE = ".fieldnav-pack-store"


class PackStorage(ABC):
    """Pack files by name. ``put`` and ``delete`` take the caller's connection: with the
    database store they are part of the transaction that writes or deletes the pack's row."""

    kind: str

    @property
    @abstractmethod
    def location(self) -> str:
        """What offline_pack.storage records."""

    @abstractmethod
    def put(self, connection: Connection, pack_id: uuid.UUID, name: str, source: Path) -> None:
        """Store the local file ``source`` under ``name`` (the file may be moved or removed)."""

    @abstractmethod
    def size(self, name: str, connection: Connection | None = None) -> int | None:
        """Bytes of the file, None when there is no such file. ``connection``: read through
        it (the database store; a transaction sees the files it wrote), else the store's own."""

    def exists(self, name: str, connection: Connection | None = None) -> bool:
        return self.size(name, connection) is not None

    @abstractmethod
    def read(self, name: str, start: int = 0, end: int | None = None, connection: Connection | None = None) -> bytes:
        """Bytes ``start`` to ``end`` (exclusive; None: the end) of the file.
        Raises FileNotFoundError when there is no such file."""

    @abstractmethod
    def delete(self, connection: Connection | None, name: str) -> bool:
        """Remove the file; False when there was none."""

    def local_path(self, name: str) -> Path | None:
        """The file on this host's disk, when the store is a folder (served by the kernel)."""
        return None

    def reader(self, name: str, size: int) -> RangeReader:
        return RangeReader(self, name, size)


class RangeReader:
    """Sequential reads of one stored file (``seek`` then ``read``), fetching whole chunks
    and keeping the last one, so a response written in small pieces costs one database
    read per chunk, not one per piece."""

    def __init__(self, storage: PackStorage, name: str, size: int, chunk_bytes: int = CHUNK_BYTES):
        self.storage, self.name, self.size, self.chunk_bytes = storage, name, size, chunk_bytes
        self.position = 0
        self._cached: tuple[int, bytes] | None = None  # (offset, bytes)

    def seek(self, position: int) -> None:
        self.position = position

    def read(self, n: int) -> bytes:
        start, end = self.position, min(self.size, self.position + n)
        if start >= end:
            return b""
        parts = []
        if self._cached is not None:
            offset, data = self._cached
            if offset <= start < offset + len(data):
                parts.append(data[start - offset : min(end, offset + len(data)) - offset])
                start += len(parts[0])
        if start < end:
            # The rest: whole chunks from the start's to the end's; the last one is kept.
            first = start // self.chunk_bytes * self.chunk_bytes
            last_end = min(self.size, -(-end // self.chunk_bytes) * self.chunk_bytes)
            data = self.storage.read(self.name, first, last_end)
            keep_from = (last_end - 1) // self.chunk_bytes * self.chunk_bytes - first
            self._cached = (first + keep_from, data[keep_from:])
            parts.append(data[start - first : end - first])
        self.position = end
        return b"".join(parts)


# --- a local folder --------------------------------------------------------------------------


def folder_id(directory: Path) -> str:
    """The folder's own id (``.fieldnav-pack-store``), made on first use. Written aside and
    linked into place, so concurrent workers agree on one and never read a half-written one."""
    marker = directory / STORE_ID_FILE
    try:
        return marker.read_text().strip()
    except FileNotFoundError:
        pass
    directory.mkdir(parents=True, exist_ok=True)
    temp = directory / f"{STORE_ID_FILE}.{uuid.uuid4().hex}"
    temp.write_text(uuid.uuid4().hex + "\n")
    try:
        os.link(temp, marker)
    except FileExistsError:
        pass
    finally:
        temp.unlink()
    return marker.read_text().strip()


class LocalStorage(PackStorage):
    kind = "local"

    def __init__(self, directory: Path):
        self.directory = directory
        self._location: str | None = None

    @property
    def location(self) -> str:
        if self._location is None:
            self._location = LOCAL_PREFIX + folder_id(self.directory)
        return self._location

    def path(self, name: str) -> Path:
        if "/" in name or name.startswith("."):
            raise ValueError(f"not a pack file name: {name!r}")
        return self.directory / name

    def put(self, connection, pack_id, name, source):
        final = self.path(name)
        if source != final:
            try:
                os.replace(source, final)
            except OSError:  # another file system
                shutil.copyfile(source, final)
                source.unlink()

    def size(self, name, connection=None):
        try:
            return self.path(name).stat().st_size
        except FileNotFoundError:
            return None

    def read(self, name, start=0, end=None, connection=None):
        with self.path(name).open("rb") as f:
            f.seek(start)
            return f.read() if end is None else f.read(max(0, end - start))

    def delete(self, connection, name):
        try:
            self.path(name).unlink()
            return True
        except FileNotFoundError:
            return False

    def local_path(self, name):
        return self.path(name)


# --- the database ------------------------------------------------------------------------------


class DatabaseStorage(PackStorage):
    """Chunks in ``offline_pack_chunk``; reads on ``engine`` (the packs' own pool)."""

    kind = DATABASE
    location = DATABASE

    def __init__(self, engine: Engine, chunk_bytes: int = CHUNK_BYTES):
        self.engine, self.chunk_bytes = engine, chunk_bytes

    def put(self, connection, pack_id, name, source):
        size = source.stat().st_size
        connection.execute(
            text(
                "INSERT INTO offline_pack_file (name, pack_id, bytes, chunk_bytes) "
                "VALUES (:name, :pack_id, :bytes, :chunk_bytes)"
            ),
            {"name": name, "pack_id": pack_id, "bytes": size, "chunk_bytes": self.chunk_bytes},
        )
        with source.open("rb") as f:
            seq = 0
            while chunk := f.read(self.chunk_bytes):
                connection.execute(
                    text("INSERT INTO offline_pack_chunk (name, seq, data) VALUES (:name, :seq, :data)"),
                    {"name": name, "seq": seq, "data": chunk},
                )
                seq += 1
        source.unlink()

    def _file(self, connection: Connection, name: str):
        return connection.execute(
            text("SELECT bytes, chunk_bytes FROM offline_pack_file WHERE name = :name"), {"name": name}
        ).one_or_none()

    @contextmanager
    def _connection(self, connection: Connection | None) -> Iterator[Connection]:
        if connection is not None:
            yield connection
        else:
            with self.engine.connect() as own:
                yield own

    def size(self, name, connection=None):
        with self._connection(connection) as c:
            row = self._file(c, name)
        return None if row is None else row.bytes

    def read(self, name, start=0, end=None, connection=None):
        with self._connection(connection) as c:
            row = self._file(c, name)
            if row is None:
                raise FileNotFoundError(name)
            end = row.bytes if end is None else min(end, row.bytes)
            if start >= end:
                return b""
            first, last = start // row.chunk_bytes, (end - 1) // row.chunk_bytes
            chunks = c.execute(
                text(
                    "SELECT seq, data FROM offline_pack_chunk WHERE name = :name AND seq BETWEEN :first AND :last "
                    "ORDER BY seq"
                ),
                {"name": name, "first": first, "last": last},
            ).all()
        if [c.seq for c in chunks] != list(range(first, last + 1)):
            raise FileNotFoundError(name)  # deleted between the two statements
        data = b"".join(bytes(c.data) for c in chunks)
        offset = start - first * row.chunk_bytes
        return data[offset : offset + end - start]

    def delete(self, connection, name):
        if connection is None:
            with self.engine.begin() as own:
                return self.delete(own, name)
        return (
            connection.execute(
                text("DELETE FROM offline_pack_file WHERE name = :name RETURNING name"), {"name": name}
            ).first()
            is not None
        )

    def names(self, connection: Connection) -> Iterator[str]:
        yield from connection.execute(text("SELECT name FROM offline_pack_file")).scalars()


# --- which store -------------------------------------------------------------------------------


class PackStores:
    """The stores of one process: its folder, the database, and which one new packs go to."""

    def __init__(self, kind: str, directory: Path, engine: Engine):
        self.local = LocalStorage(directory)
        self.database = DatabaseStorage(engine)
        self.default: PackStorage = self.database if kind == DATABASE else self.local

    @property
    def directory(self) -> Path:
        return self.local.directory

    def for_location(self, location: str | None) -> PackStorage | None:
        """The store holding a pack whose row says ``location``; None when its files are in
        another host's folder."""
        if location is None:  # a pack built before stores were recorded: this host's folder
            return self.local
        if location == DATABASE:
            return self.database
        if location == self.local.location:
            return self.local
        return None


def pack_dir(settings: PackSettings) -> Path:
    """This host's pack folder (``FIELDNAV_PACKS_DIR``, default ``FIELDNAV_HOME/packs``)."""
    return settings.dir or path_settings().home / "packs"


def default_stores(engine: Engine, settings: PackSettings, directory: Path | None = None) -> PackStores:
    """The stores of a caller that has none of its own (tests, commands): reads of packs in
    the database go through ``engine``."""
    return PackStores(settings.storage, directory or pack_dir(settings), engine)


def _elsewhere(pack_id: uuid.UUID | str) -> Problem:
    """A pack whose files are in another host's folder (local storage on several hosts)."""
    log.warning(
        "offline pack %s is in another host's folder: hosts sharing a database must share pack storage "
        "(FIELDNAV_PACKS_STORAGE=database)",
        pack_id,
    )
    return Problem(
        503,
        "pack-storage-not-shared",
        f"Offline pack {pack_id} is kept on another server; try again shortly. (Operators: servers that "
        "share a database must share pack storage: set FIELDNAV_PACKS_STORAGE=database.)",
        title="Pack on another server",
        detail_fr=f"La zone hors ligne {pack_id} est gardée sur un autre serveur : réessayez dans un instant. "
        "(Exploitants : des serveurs qui partagent une base de données doivent partager le "
        "stockage des zones : FIELDNAV_PACKS_STORAGE=database.)",
        headers={"Retry-After": "1"},
    )


def store_of(stores: PackStores, row) -> PackStorage:
    """The store holding the files of an ``offline_pack`` row. Raises Problem 503
    pack-storage-not-shared when they are in another host's folder."""
    store = stores.for_location(row.storage)
    if store is None:
        raise _elsewhere(row.id)
    return store
