"""The optional basemap: a PMTiles v3 archive named by ``FIELDNAV_BASEMAP_PMTILES``.

fieldnav draws services; what lies under them (land, water, roads) comes from any PMTiles
archive the deployment provides (e.g. a Protomaps or planetiler extract of its region),
vector (MVT) or raster (PNG, JPEG, WebP, AVIF). Nothing is downloaded: without the setting
there is no basemap and clients draw services over a plain background.

Serving (service/api/routes/basemap.py)
    ``GET /v1/basemap.json`` is a TileJSON 3.0 document for the archive (zooms, bounds,
    ``format``, ``vector_layers`` from the archive's metadata, attribution) whose tile URL
    carries ``v``, a fingerprint of the archive (``Basemap.version``), so a new archive gives
    new URLs. ``GET /v1/basemap/{z}/{x}/{y}`` answers a tile's bytes as stored, with the tile
    type's media type (``Content-Encoding: gzip`` when the archive stores tiles gzipped),
    204 for a tile the archive does not hold. Only gzip and uncompressed archives are read
    (what tippecanoe, planetiler and Protomaps builds use for MVT; rasters are never
    compressed twice).

Offline packs (service/maps/packs/)
    When a basemap is configured, every pack also gets ``<id>.basemap.pmtiles``: the
    basemap's tiles covering the pack's bbox at the pack's zooms, cut to the basemap's zoom
    range (a pack reaching above the basemap's top zoom gets the top zoom: MapLibre
    overzooms a source past its ``maxzoom``), copied byte for byte (same tile type and
    compression), with ``<id>.basemap.json`` beside it (tile count, size, SHA-256, format,
    zooms, layer ids) for the manifest's ``basemap`` entry and ``urls.basemap``. A separate
    archive rather than layers merged into the services tiles, because the basemap may be a
    raster, may stop at a lower zoom than the pack, and is styled on its own; the phone
    reads both archives through the pmtiles protocol. The basemap fingerprint is part of
    the pack's request key, so a new basemap is never answered with a pack built without it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import mmap
import os
import threading
import time
import uuid
from pathlib import Path

import orjson
from cachetools import LRUCache
from pmtiles.tile import (
    Compression,
    Entry,
    MagicNumberNotFound,
    SpecVersionUnsupported,
    TileType,
    deserialize_header,
    find_tile,
    read_varint,
    zxy_to_tileid,
)

from service.maps.pmtiles_writer import (
    HEADER_BYTES,
    ArchiveWriter,
    BBox,
    tiles_in_order,
)
from service.platform.settings import basemap_settings

log = logging.getLogger("fieldnav.basemap")

PART_SUFFIX = ".basemap.pmtiles"
INFO_SUFFIX = ".basemap.json"
# Directories kept parsed per process (root + leaves); a leaf is a few KB parsed.
DIRECTORY_CACHE_ENTRIES = 256
# How often the archive file is checked for replacement (seconds).
RECHECK_S = 2.0

# tile type -> (media type, TileJSON "format", MapLibre source type)
TILE_TYPES: dict[TileType, tuple[str, str, str]] = {
    TileType.MVT: ("application/vnd.mapbox-vector-tile", "pbf", "vector"),
    TileType.PNG: ("image/png", "png", "raster"),
    TileType.JPEG: ("image/jpeg", "jpg", "raster"),
    TileType.WEBP: ("image/webp", "webp", "raster"),
    TileType.AVIF: ("image/avif", "avif", "raster"),
}
READABLE_COMPRESSION = (Compression.NONE, Compression.GZIP)


class BasemapUnavailable(Exception):
    """The configured archive cannot be read (missing, not PMTiles v3, or a tile type or
    compression fieldnav does not serve). The message says which, for the operator."""


class PartTooLarge(Exception):
    """A pack's basemap part grew past the bytes left in the pack's budget."""


def _parse_directory(raw: bytes) -> list[Entry]:
    """A PMTiles v3 directory (already decompressed) as entries (spec section 4)."""
    stream = io.BytesIO(raw)
    count = read_varint(stream)
    entries: list[Entry] = []
    last_id = 0
    for _ in range(count):
        last_id += read_varint(stream)
        entries.append(Entry(last_id, 0, 0, 0))
    for entry in entries:
        entry.run_length = read_varint(stream)
    for entry in entries:
        entry.length = read_varint(stream)
    for i, entry in enumerate(entries):
        value = read_varint(stream)
        entry.offset = entries[i - 1].offset + entries[i - 1].length if (i > 0 and value == 0) else value - 1
    return entries


class Basemap:
    """A read-only PMTiles v3 archive: memory-mapped, with parsed directories cached."""

    def __init__(self, path: Path):
        self.path = path
        try:
            with path.open("rb") as f:
                stat = os.fstat(f.fileno())
                self.identity = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
                self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as error:
            raise BasemapUnavailable(f"cannot read basemap archive {path}: {error}") from None
        try:
            self.header = deserialize_header(self._map[:HEADER_BYTES])
        except (MagicNumberNotFound, SpecVersionUnsupported, ValueError, UnicodeDecodeError):
            raise BasemapUnavailable(f"{path} is not a PMTiles v3 archive") from None
        h = self.header
        if h["tile_type"] not in TILE_TYPES:
            raise BasemapUnavailable(
                f"{path}: tile type {h['tile_type'].name} is not served (use MVT, PNG, JPEG, WebP or AVIF)"
            )
        for part in ("internal_compression", "tile_compression"):
            if h[part] not in READABLE_COMPRESSION:
                raise BasemapUnavailable(
                    f"{path}: {part.replace('_', ' ')} {h[part].name} is not supported (use gzip or none)"
                )
        self.media_type, self.format, self.source_type = TILE_TYPES[h["tile_type"]]
        self.tiles_gzipped = h["tile_compression"] == Compression.GZIP
        self.metadata = self._read_metadata()
        root = self._map[h["root_offset"] : h["root_offset"] + h["root_length"]]
        fingerprint = hashlib.blake2b(digest_size=8)
        for chunk in (self._map[:HEADER_BYTES], root, str(stat.st_size).encode()):
            fingerprint.update(chunk)
        # Changes with any new archive (offsets, counts and the root directory move).
        self.version = fingerprint.hexdigest()
        self._directories: LRUCache = LRUCache(maxsize=DIRECTORY_CACHE_ENTRIES)
        self._lock = threading.Lock()

    # --- reading ----------------------------------------------------------------------------

    def _internal(self, data: bytes) -> bytes:
        return gzip.decompress(data) if self.header["internal_compression"] == Compression.GZIP else data

    def _read_metadata(self) -> dict:
        h = self.header
        if not h["metadata_length"]:
            return {}
        try:
            value = orjson.loads(
                self._internal(self._map[h["metadata_offset"] : h["metadata_offset"] + h["metadata_length"]])
            )
        except (orjson.JSONDecodeError, OSError, EOFError):
            log.warning("basemap %s: metadata is not JSON; ignored", self.path)
            return {}
        return value if isinstance(value, dict) else {}

    def _directory(self, offset: int, length: int) -> list[Entry]:
        key = (offset, length)
        with self._lock:
            found = self._directories.get(key)
        if found is None:
            found = _parse_directory(self._internal(self._map[offset : offset + length]))
            with self._lock:
                self._directories[key] = found
        return found

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile's bytes as stored (gzipped when ``tiles_gzipped``), or None when absent."""
        h = self.header
        if not h["min_zoom"] <= z <= h["max_zoom"]:
            return None
        tile_id = zxy_to_tileid(z, x, y)
        offset, length = h["root_offset"], h["root_length"]
        for _depth in range(4):  # the spec allows at most three levels of leaves
            entry = find_tile(self._directory(offset, length), tile_id)
            if entry is None:
                return None
            if entry.run_length == 0:  # a leaf directory
                offset, length = h["leaf_directory_offset"] + entry.offset, entry.length
                continue
            start = h["tile_data_offset"] + entry.offset
            return self._map[start : start + entry.length] or None
        return None

    # --- describing -------------------------------------------------------------------------

    @property
    def min_zoom(self) -> int:
        return self.header["min_zoom"]

    @property
    def max_zoom(self) -> int:
        return self.header["max_zoom"]

    @property
    def bounds(self) -> list[float]:
        h = self.header
        return [h["min_lon_e7"] / 1e7, h["min_lat_e7"] / 1e7, h["max_lon_e7"] / 1e7, h["max_lat_e7"] / 1e7]

    def vector_layers(self) -> list[dict]:
        layers = self.metadata.get("vector_layers") if self.source_type == "vector" else None
        return [layer for layer in layers or [] if isinstance(layer, dict) and isinstance(layer.get("id"), str)]

    def tilejson(self, tile_url_template: str) -> dict:
        h, meta = self.header, self.metadata
        document = {
            "tilejson": "3.0.0",
            "name": str(meta.get("name") or self.path.stem),
            "description": str(meta.get("description") or "Basemap"),
            "version": self.version,
            "attribution": str(meta.get("attribution") or ""),
            "scheme": "xyz",
            "tiles": [tile_url_template],
            "minzoom": self.min_zoom,
            "maxzoom": self.max_zoom,
            "bounds": self.bounds,
            "center": [h["center_lon_e7"] / 1e7, h["center_lat_e7"] / 1e7, h["center_zoom"]],
            "format": self.format,
            "type": self.source_type,
        }
        if self.source_type == "vector":
            document["vector_layers"] = self.vector_layers()
        return document


class _Holder:
    """This process's basemap, opened on first use and again when the file is replaced."""

    def __init__(self):
        self._lock = threading.Lock()
        self._current: Basemap | None = None
        self._checked_at = 0.0

    def get(self, path: Path | None) -> Basemap | None:
        if path is None:
            return None
        now = time.monotonic()
        current = self._current
        if current is not None and current.path == path and now - self._checked_at < RECHECK_S:
            return current
        with self._lock:
            try:
                stat = path.stat()
                identity = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
            except OSError as error:
                self._current = None
                raise BasemapUnavailable(f"cannot read basemap archive {path}: {error}") from None
            if self._current is None or self._current.path != path or self._current.identity != identity:
                # An old instance still in use elsewhere keeps its own mapping until dropped.
                self._current = Basemap(path)
                log.info(
                    "basemap %s: %s tiles, zoom %d-%d, version %s",
                    path,
                    self._current.format,
                    self._current.min_zoom,
                    self._current.max_zoom,
                    self._current.version,
                )
            self._checked_at = now
            return self._current


_holder = _Holder()


def configured_basemap() -> Basemap | None:
    """The basemap of FIELDNAV_BASEMAP_PMTILES, or None when none is configured. Raises
    BasemapUnavailable when one is configured but cannot be read."""
    return _holder.get(basemap_settings().basemap_pmtiles)


def basemap_for_packs() -> Basemap | None:
    """Like configured_basemap, but a broken archive leaves packs without a basemap (logged)
    rather than failing them: the services are what a field worker cannot do without."""
    try:
        return configured_basemap()
    except BasemapUnavailable as error:
        log.warning("offline packs are built without a basemap: %s", error)
        return None


# --- offline pack parts ---------------------------------------------------------------------


def part_path(directory: Path, pack_id: uuid.UUID | str) -> Path:
    return directory / f"{pack_id}{PART_SUFFIX}"


def info_path(directory: Path, pack_id: uuid.UUID | str) -> Path:
    return directory / f"{pack_id}{INFO_SUFFIX}"


def part_zooms(basemap: Basemap, min_zoom: int, max_zoom: int) -> range:
    """The basemap zooms a pack for min_zoom..max_zoom carries (empty when the pack lies
    wholly below the basemap's zooms)."""
    if max_zoom < basemap.min_zoom:
        return range(0)
    low = min(max(min_zoom, basemap.min_zoom), basemap.max_zoom)
    high = min(max_zoom, basemap.max_zoom)
    return range(low, high + 1)


def _copy_tiles(basemap: Basemap, archive: ArchiveWriter, bbox: BBox, zooms: range, max_bytes: int) -> int:
    """Copy the basemap's tiles of the area into ``archive``, byte for byte; returns how many
    there were. Raises PartTooLarge past ``max_bytes``."""
    written = 0
    for z in zooms:
        for tile_id, _, x, y in tiles_in_order(bbox, z):
            data = basemap.tile(z, x, y)
            if not data:
                continue
            archive.add(tile_id, bytes(data))
            written += 1
            if archive.tile_bytes > max_bytes:
                raise PartTooLarge
    return written


def _part_metadata(basemap: Basemap, pack_id: uuid.UUID, zooms: range) -> dict:
    layers = [
        {
            **layer,
            "minzoom": max(layer.get("minzoom", zooms[0]), zooms[0]),
            "maxzoom": min(layer.get("maxzoom", zooms[-1]), zooms[-1]),
        }
        for layer in basemap.vector_layers()
    ]
    return {
        "name": f"{basemap.metadata.get('name') or 'basemap'} (fieldnav offline pack)",
        "attribution": basemap.metadata.get("attribution") or "",
        "format": basemap.format,
        "pack_id": str(pack_id),
        "source_version": basemap.version,
        **({"vector_layers": layers} if basemap.source_type == "vector" else {}),
    }


def write_pack_part(
    basemap: Basemap, directory: Path, pack_id: uuid.UUID, bbox: BBox, min_zoom: int, max_zoom: int, *, max_bytes: int
) -> dict | None:
    """Copy the basemap tiles of a pack's area into ``<id>.basemap.pmtiles`` and describe
    them in ``<id>.basemap.json``; returns that description, or None (and no file) when the
    area holds no basemap tile. Raises PartTooLarge past ``max_bytes``."""
    zooms = part_zooms(basemap, min_zoom, max_zoom)
    final, info_final = part_path(directory, pack_id), info_path(directory, pack_id)
    temp = final.with_name(f"{final.name}.tmp-{uuid.uuid4().hex}")
    try:
        with ArchiveWriter(temp) as archive:
            written = _copy_tiles(basemap, archive, bbox, zooms, max_bytes)
            if written:
                # The header's zooms are those of the tiles copied (zooms=None).
                header = basemap.header
                archive.finish(
                    tile_type=header["tile_type"],
                    tile_compression=header["tile_compression"],
                    bbox=bbox,
                    center_zoom=zooms[0],
                    metadata=_part_metadata(basemap, pack_id, zooms),
                )
        if not written:
            temp.unlink()
            return None
        size = temp.stat().st_size
        if size > max_bytes:
            raise PartTooLarge
        with temp.open("rb") as f:
            sha256 = hashlib.file_digest(f, "sha256").hexdigest()
        info = {
            "tile_count": written,
            "bytes": size,
            "sha256": sha256,
            "format": basemap.format,
            "type": basemap.source_type,
            "min_zoom": zooms[0],
            "max_zoom": zooms[-1],
            "layers": [layer["id"] for layer in basemap.vector_layers()],
        }
        info_temp = info_final.with_name(f"{info_final.name}.tmp-{uuid.uuid4().hex}")
        info_temp.write_bytes(orjson.dumps(info))
        os.replace(temp, final)
        os.replace(info_temp, info_final)
        return info
    except BaseException:
        for path in (temp, final, info_final):
            path.unlink(missing_ok=True)
        raise


def read_part_info(directory: Path, pack_id: uuid.UUID | str) -> dict | None:
    """The description of a pack's basemap part, or None when the pack has none."""
    try:
        info = orjson.loads(info_path(directory, pack_id).read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None
    return info if part_path(directory, pack_id).is_file() else None


def remove_part(directory: Path, pack_id: uuid.UUID | str) -> int:
    """Remove a pack's basemap files; returns how many there were."""
    removed = 0
    for path in (part_path(directory, pack_id), info_path(directory, pack_id)):
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
    return removed
