"""Offline packs: the map tiles and the services of an area, for a phone to keep offline.

``POST /v1/offline/packs`` builds (or reuses) a pack; its files are served by
``GET /v1/offline/packs/{id}.pmtiles`` and ``GET /v1/offline/packs/{id}/services.json``.

Request
    ``{"bbox": [min_lon, min_lat, max_lon, max_lat]}`` or ``{"h3_cells": [...]}`` (exactly
    one; at most ``MAX_H3_CELLS`` cells, replaced by the union of their boundaries' bbox),
    ``min_zoom`` and ``max_zoom`` (within ``PackSettings.min_zoom .. max_zoom``, min <= max)
    and optional ``categories`` (category group codes, checked like ``/v1/services/nearest``;
    none or empty means every category). Unknown fields are refused.

Canonical request and reuse
    The request is reduced to what is built: the bbox rounded *outwards* to 6 decimals
    (~0.1 m), the zooms, the sorted distinct categories and ``PACK_FORMAT``.
    ``request_key`` = sha256 of that canonical JSON (sorted keys, no spaces); an H3 request
    and the bbox it stands for share their packs. ``(request_key, data_version)`` is unique
    in ``offline_pack``: the same request at the same data version returns the pack already
    built (200) instead of building a new one (201).

Size caps
    Tiles are counted before anything is rendered (the tile ranges of the bbox at each zoom);
    more than ``PackSettings.max_tiles`` is a 422 ``pack-too-large`` whose detail says the
    highest ``max_zoom`` that fits (or how much smaller the area must be). While building,
    the archive plus the services snapshot may not exceed ``PackSettings.max_bytes`` (what
    the phone downloads); going over aborts the build, removes its files and answers the
    same 422, suggesting the zoom below the one that overflowed.

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
    packs' own connection pool and stop at a deadline: service/maps/pack_queue.py. The files go to
    a store (service/maps/pack_storage.py): the local folder below, or the database itself when
    several hosts serve packs (``FIELDNAV_PACKS_STORAGE=database``); ``offline_pack.storage``
    says which. With the database store the files are written in the row's transaction.

Files (under ``PackSettings.dir``, default ``FIELDNAV_HOME/packs``)
    - ``<id>.pmtiles``: PMTiles v3, tile type MVT, tiles gzip-compressed (what MapLibre's
      ``pmtiles://`` protocol and tippecanoe/planetiler archives use), internal directories
      gzip; empty tiles are left out (a missing tile is an empty tile); header zooms and
      bounds are the request's; metadata JSON holds ``name``, ``vector_layers``,
      ``data_version``, ``pack_id`` and the request.
    - ``<id>.services.json.gz``: gzip of the snapshot JSON ``{"data_version",
      "generated_at", "bbox", "categories", "services": [...]}``, one entry per active site:
      public sites in the bbox and confidential sites whose coarse position (their H3 r5
      cell centre) is in it, with the category filter, each as ``offline_summary(card, now)`` (the nearest fields plus the weekly hours rule)
      (what ``/v1/services/nearest`` returns, minus the distance fields). The manifest's
      ``services.bytes`` and ``services.sha256`` describe the JSON itself (what a client has
      once HTTP decoding is done); it is stored gzipped so it is served compressed with a
      strong ETag and byte ranges that stay valid.

    - ``<id>.basemap.pmtiles`` and ``<id>.basemap.json``: the basemap's tiles of the area and
      their description, when a basemap is configured (service/maps/basemap.py explains why a
      separate archive); the manifest then has ``basemap`` and ``urls.basemap``.

    Pack ids are random (uuid4), never derived from the request: a pack's files never
    change for an id, so they are served ``immutable``; a rebuild gets a new id.

Garbage collection (``collect_garbage``; after each build, and ``fieldnav packs gc``)
    - any pack not requested or downloaded for ``keep_days`` (``last_used_at``);
    - packs of an older data version not used for ``SUPERSEDED_GRACE`` (a day): they can no
      longer be handed out (reuse needs the current version), but a phone may still be
      resuming a download it started before the import;
    - files in the pack folder with no row (and temporary files), once older than
      ``ORPHAN_GRACE``, so a build in progress in another process is never touched.
    ``last_used_at`` moves at most every ``TOUCH_INTERVAL`` so byte-range reads stay cheap.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import math
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import h3
import orjson
from pmtiles.tile import Compression, TileType, serialize_header, zxy_to_tileid
from pmtiles.writer import Writer, optimize_directories
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import Connection, Engine, text

from service.maps import basemap as basemap_parts
from service.capacity.merge import stale_after
from service.directory.categories import category_codes
from service.platform.db import read_data_version
from service.maps.pack_queue import DeadlineConnection, take_database_slot
from service.maps.pack_storage import LocalStorage, PackStorage, PackStores
from service.platform.problem_texts import field_error, field_problem, fr_number, message
from service.platform.problems import Problem
from service.directory.results import offline_summary
from service.platform.settings import PackSettings, path_settings, tile_settings
from spatial import tiles as tiles_math
from spatial.cells import parse_cell

log = logging.getLogger("fieldnav.packs")

# Bump when the archive or snapshot layout changes: old packs then stop being reused.
PACK_FORMAT = 2  # 2: tile points keyed by site_key, snapshot sites without hours of the moment
MAX_H3_CELLS = 500
MAX_CATEGORIES = 50
SUPERSEDED_GRACE = timedelta(days=1)
ORPHAN_GRACE = timedelta(hours=1)
TOUCH_INTERVAL = timedelta(minutes=10)

ARCHIVE_SUFFIX = ".pmtiles"
SNAPSHOT_SUFFIX = ".services.json.gz"
TEMP_MARK = ".tmp-"


# --- the request ----------------------------------------------------------------------------


class PackRequest(BaseModel):
    """Body of ``POST /v1/offline/packs``."""

    model_config = ConfigDict(extra="forbid")

    bbox: Annotated[list[float], Field(min_length=4, max_length=4)] | None = Field(
        default=None, description="min_lon, min_lat, max_lon, max_lat (WGS84 degrees). Give this or h3_cells.",
        examples=[[-79.42, 43.63, -79.36, 43.68]])
    h3_cells: Annotated[list[str], Field(min_length=1, max_length=MAX_H3_CELLS)] | None = Field(
        default=None, description=f"H3 cells (hex strings, any resolution, at most {MAX_H3_CELLS}); the pack covers "
                                  "the bbox of their union. Give this or bbox.", examples=[["852b9bcbfffffff"]])
    min_zoom: int = Field(ge=0, le=22, examples=[10])
    max_zoom: int = Field(ge=0, le=22, examples=[16])
    categories: Annotated[list[str], Field(max_length=MAX_CATEGORIES)] | None = Field(
        default=None, description="Category group codes: only these services and map features. Omit for all.",
        examples=[["shelter", "food"]])

    @field_validator("bbox")
    @classmethod
    def _valid_bbox(cls, bbox: list[float] | None) -> list[float] | None:
        if bbox is None:
            return None
        min_lon, min_lat, max_lon, max_lat = bbox
        if not all(math.isfinite(v) for v in bbox):
            raise field_error("bbox_not_finite")
        if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
            raise field_error("bbox_invalid")
        return bbox

    @field_validator("h3_cells")
    @classmethod
    def _valid_cells(cls, cells: list[str] | None) -> list[str] | None:
        if cells is None:
            return None
        parsed = [parse_cell(c) for c in cells]
        bad = [c for c, p in zip(cells, parsed) if p is None]
        if bad:
            raise field_error("h3_cells_invalid", cells=", ".join(c[:20] for c in bad[:5]))
        return parsed

    @model_validator(mode="after")
    def _one_area(self) -> PackRequest:
        if (self.bbox is None) == (self.h3_cells is None):
            raise field_error("area_one_of")
        if self.min_zoom > self.max_zoom:
            raise field_error("zoom_range_invalid")
        return self


BBox = tuple[float, float, float, float]


def cells_bbox(cells: list[str]) -> BBox:
    """The bbox of the union of H3 cells, from their boundary vertices (no antimeridian
    handling: a cell across it yields a box spanning the globe, refused by the tile cap)."""
    lats, lons = [], []
    for cell in cells:
        for lat, lon in h3.cell_to_boundary(cell):
            lats.append(lat)
            lons.append(lon)
    return min(lons), min(lats), max(lons), max(lats)


def _outward(bbox: BBox) -> BBox:
    min_lon, min_lat, max_lon, max_lat = bbox
    # round(..., 3) first: -79.42 * 1e6 is -79420000.00000001, which must not floor to -79.420001.
    down = lambda v: math.floor(round(v * 1e6, 3)) / 1e6  # noqa: E731
    up = lambda v: math.ceil(round(v * 1e6, 3)) / 1e6  # noqa: E731
    return max(-180.0, down(min_lon)), max(-90.0, down(min_lat)), min(180.0, up(max_lon)), min(90.0, up(max_lat))


# --- tiles -----------------------------------------------------------------------------------


def tile_count(bbox: BBox, min_zoom: int, max_zoom: int) -> int:
    """Tiles covering the bbox from min_zoom to max_zoom (spatial.tiles' half-open ranges)."""
    return tiles_math.tile_count(bbox, range(min_zoom, max_zoom + 1))


def tiles_in_order(bbox: BBox, zoom: int) -> list[tuple[int, int, int, int]]:
    """(tile_id, z, x, y) of a zoom's tiles in PMTiles (Hilbert) order."""
    min_x, min_y, max_x, max_y = tiles_math.tile_range(bbox, zoom)
    tiles = [(zxy_to_tileid(zoom, x, y), zoom, x, y) for x in range(min_x, max_x + 1) for y in range(min_y, max_y + 1)]
    tiles.sort()
    return tiles


# --- plan ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackPlan:
    bbox: BBox
    min_zoom: int
    max_zoom: int
    categories: tuple[str, ...]
    tile_count: int
    # The configured basemap (service/maps/basemap.py), whose tiles of the area go in the pack too.
    basemap: basemap_parts.Basemap | None = field(default=None, compare=False, repr=False)

    def canonical(self) -> dict:
        canonical = {"bbox": list(self.bbox), "categories": list(self.categories), "format": PACK_FORMAT,
                     "max_zoom": self.max_zoom, "min_zoom": self.min_zoom}
        if self.basemap is not None:  # a new basemap archive never reuses a pack built without it
            canonical["basemap"] = self.basemap.version
        return canonical

    @property
    def request_key(self) -> str:
        return hashlib.sha256(orjson.dumps(self.canonical(), option=orjson.OPT_SORT_KEYS)).hexdigest()


def _invalid(field: str, code: str, **ctx) -> Problem:
    return Problem(422, "validation-error", f"{field}: {message(code, ctx, 'en')}", title="Invalid request",
                   detail_fr=f"{field} : {message(code, ctx, 'fr')}", errors=[field_problem(field, code, **ctx)])


def _too_large(detail: str, detail_fr: str, **extra) -> Problem:
    return Problem(422, "pack-too-large", detail, title="Pack too large", detail_fr=detail_fr, **extra)


def _shrink_advice(bbox: BBox, min_zoom: int, max_zoom: int, max_tiles: int) -> tuple[str, str, dict]:
    fits = [z for z in range(min_zoom, max_zoom) if tile_count(bbox, min_zoom, z) <= max_tiles]
    if fits:
        best = fits[-1]
        kept = tile_count(bbox, min_zoom, best)
        return ((f"lower max_zoom to {best} ({kept} tiles), or ask for a smaller area "
                "(several smaller packs cover the same ground)"),
                (f"abaissez max_zoom à {best} ({fr_number(kept)} tuiles), ou choisissez une zone plus petite "
                "(plusieurs petites zones couvrent le même territoire)"),
                {"suggested_max_zoom": best})
    share = max_tiles / tile_count(bbox, min_zoom, min_zoom)
    side = max(1, math.floor(math.sqrt(share) * 100))
    return ((f"even zoom {min_zoom} alone needs more tiles than allowed: ask for a smaller area, each side at most "
            f"about {side}% of this one, or a lower min_zoom"),
            (f"le zoom {min_zoom} à lui seul demande plus de tuiles que permis : choisissez une zone plus petite, "
            f"dont chaque côté mesure au plus environ {side} % de celle-ci, ou un min_zoom plus bas"),
            {"suggested_max_zoom": None})


def plan_pack(request: PackRequest, settings: PackSettings) -> PackPlan:
    """Check a request against the settings and count its tiles. Raises Problem 422."""
    if request.min_zoom < settings.min_zoom:
        raise _invalid("body.min_zoom", "greater_than_equal", ge=settings.min_zoom)
    if request.max_zoom > settings.max_zoom:
        raise _invalid("body.max_zoom", "less_than_equal", le=settings.max_zoom)
    codes = tuple(sorted({c.strip() for c in request.categories or [] if c.strip()}))
    unknown = [c for c in codes if c not in category_codes()]
    if unknown:
        raise Problem(422, "unknown-category", f"Unknown category {', '.join(unknown)}; use one of: {', '.join(category_codes())}.",
                      title="Unknown category",
                      detail_fr=f"Catégorie inconnue : {', '.join(unknown)}. Choisissez parmi : {', '.join(category_codes())}.",
                      errors=[field_problem("body.categories", "unknown_category", codes=[c], choices=", ".join(category_codes()))
                              for c in unknown])
    bbox = _outward(tuple(request.bbox) if request.bbox is not None else cells_bbox(request.h3_cells))
    count = tile_count(bbox, request.min_zoom, request.max_zoom)
    if count > settings.max_tiles:
        advice, advice_fr, extra = _shrink_advice(bbox, request.min_zoom, request.max_zoom, settings.max_tiles)
        raise _too_large(f"This pack would hold {count} tiles, more than the {settings.max_tiles} allowed: {advice}.",
                         f"Cette zone compterait {fr_number(count)} tuiles, plus que les {fr_number(settings.max_tiles)} "
                         f"permises : {advice_fr}.",
                         tile_count=count, max_tiles=settings.max_tiles, **extra)
    return PackPlan(bbox, request.min_zoom, request.max_zoom, codes, count, basemap_parts.basemap_for_packs())


# --- files --------------------------------------------------------------------------------------


def pack_dir(settings: PackSettings) -> Path:
    return settings.dir or path_settings().home / "packs"


def archive_path(directory: Path, pack_id: uuid.UUID | str) -> Path:
    return directory / f"{pack_id}{ARCHIVE_SUFFIX}"


def snapshot_path(directory: Path, pack_id: uuid.UUID | str) -> Path:
    return directory / f"{pack_id}{SNAPSHOT_SUFFIX}"


def archive_name(pack_id: uuid.UUID | str) -> str:
    return f"{pack_id}{ARCHIVE_SUFFIX}"


def snapshot_name(pack_id: uuid.UUID | str) -> str:
    return f"{pack_id}{SNAPSHOT_SUFFIX}"


def file_names(pack_id: uuid.UUID | str) -> tuple[str, ...]:
    """Every file a pack may have, in its store."""
    return (archive_name(pack_id), snapshot_name(pack_id), f"{pack_id}{basemap_parts.PART_SUFFIX}",
            f"{pack_id}{basemap_parts.INFO_SUFFIX}")


def _temp_path(final: Path) -> Path:
    return final.with_name(f"{final.name}{TEMP_MARK}{uuid.uuid4().hex}")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _unlink(*paths: Path) -> None:
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _e7(value: float) -> int:
    return int(round(value * 10_000_000))


class _ArchiveWriter:
    """pmtiles' Writer (tile de-duplication, run lengths, directories) with a header whose
    zooms and bounds are the request's, and which accepts an archive with no tile at all."""

    def __init__(self, path: Path):
        self.file = path.open("wb")
        self.writer = Writer(self.file)

    @property
    def tile_bytes(self) -> int:
        return self.writer.offset

    def add(self, tile_id: int, data: bytes) -> None:
        self.writer.write_tile(tile_id, data)

    def finish(self, plan: PackPlan, metadata: dict) -> None:
        w = self.writer
        entries = sorted(w.tile_entries, key=lambda e: e.tile_id)
        root, leaves, _ = optimize_directories(entries, 16384 - 127)
        packed_metadata = gzip.compress(orjson.dumps(metadata), mtime=0)
        min_lon, min_lat, max_lon, max_lat = plan.bbox
        header = {
            "root_offset": 127,
            "root_length": len(root),
            "metadata_offset": 127 + len(root),
            "metadata_length": len(packed_metadata),
            "leaf_directory_offset": 127 + len(root) + len(packed_metadata),
            "leaf_directory_length": len(leaves),
            "tile_data_offset": 127 + len(root) + len(packed_metadata) + len(leaves),
            "tile_data_length": w.offset,
            "addressed_tiles_count": w.addressed_tiles,
            "tile_entries_count": len(entries),
            "tile_contents_count": len(w.hash_to_offset),
            "clustered": w.clustered,
            "internal_compression": Compression.GZIP,
            "tile_compression": Compression.GZIP,
            "tile_type": TileType.MVT,
            "min_zoom": plan.min_zoom,
            "max_zoom": plan.max_zoom,
            "min_lon_e7": _e7(min_lon), "min_lat_e7": _e7(min_lat), "max_lon_e7": _e7(max_lon), "max_lat_e7": _e7(max_lat),
            "center_zoom": (plan.min_zoom + plan.max_zoom) // 2,
            "center_lon_e7": _e7((min_lon + max_lon) / 2), "center_lat_e7": _e7((min_lat + max_lat) / 2),
        }
        for part in (serialize_header(header), root, packed_metadata, leaves):
            self.file.write(part)
        w.tile_f.seek(0)
        while chunk := w.tile_f.read(1 << 20):
            self.file.write(chunk)
        self.close()

    def close(self) -> None:
        self.writer.tile_f.close()
        self.file.close()


def _vector_layers(plan: PackPlan, data_version: int) -> list[dict]:
    """The tile endpoint's TileJSON layers, cut to the pack's zooms."""
    from service.maps import tiles

    layers = tiles.tilejson("", data_version, plan.bbox, tile_settings(), "")["vector_layers"]
    kept = []
    for layer in layers:
        low, high = max(layer["minzoom"], plan.min_zoom), min(layer["maxzoom"], plan.max_zoom)
        if low <= high:
            kept.append({**layer, "minzoom": low, "maxzoom": high})
    return kept


@dataclass
class _Built:
    tile_count: int
    archive_bytes: int
    archive_sha256: str
    service_count: int
    snapshot_bytes: int
    snapshot_sha256: str


def _render_archive(reader: Connection, plan: PackPlan, pack_id: uuid.UUID, data_version: int, final: Path,
                    settings: PackSettings) -> int:
    """Render every tile of the plan into a PMTiles file at ``final``; returns the number of
    (non-empty) tiles written. Raises Problem 422 when the archive grows past the cap."""
    from service.maps.tiles import render_tile

    temp = _temp_path(final)
    archive = _ArchiveWriter(temp)
    written = 0
    try:
        for zoom in range(plan.min_zoom, plan.max_zoom + 1):
            for tile_id, z, x, y in tiles_in_order(plan.bbox, zoom):
                data = render_tile(reader, z, x, y, plan.categories)
                if not data:
                    continue
                archive.add(tile_id, gzip.compress(data, compresslevel=6, mtime=0))
                written += 1
                if archive.tile_bytes > settings.max_bytes:
                    raise _bytes_too_large(plan, settings, zoom)
        metadata = {
            "name": "fieldnav offline pack",
            "description": "Services for field workers (fieldnav); confidential sites are never in tiles.",
            "format": "pbf",
            "type": "overlay",
            "minzoom": plan.min_zoom,
            "maxzoom": plan.max_zoom,
            "bounds": list(plan.bbox),
            "vector_layers": _vector_layers(plan, data_version),
            "data_version": data_version,
            "pack_id": str(pack_id),
            "categories": list(plan.categories),
        }
        archive.finish(plan, metadata)
        os.replace(temp, final)
    except BaseException:
        archive.close()
        _unlink(temp)
        raise
    return written


def _bytes_too_large(plan: PackPlan, settings: PackSettings, zoom: int | None) -> Problem:
    megabytes = settings.max_bytes / 1_000_000
    if zoom is not None and zoom > plan.min_zoom:
        advice = f"lower max_zoom to {zoom - 1}, or ask for a smaller area or fewer categories"
        advice_fr = f"abaissez max_zoom à {zoom - 1}, ou choisissez une zone plus petite ou moins de catégories"
        extra = {"suggested_max_zoom": zoom - 1}
    else:
        advice = "ask for a smaller area or fewer categories"
        advice_fr = "choisissez une zone plus petite ou moins de catégories"
        extra = {"suggested_max_zoom": None}
    return _too_large(f"This pack would be larger than the {megabytes:g} MB allowed: {advice}.",
                      f"Cette zone dépasserait la taille permise de {fr_number(megabytes)} Mo : {advice_fr}.",
                      max_bytes=settings.max_bytes, **extra)


_SNAPSHOT_SQL = """
SELECT card, service_id, location_id FROM service_site
WHERE status = 'active' AND NOT is_private
  AND geom && ST_MakeEnvelope(:min_lon, :min_lat, :max_lon, :max_lat, 4326)
  AND (cardinality(CAST(:categories AS text[])) = 0 OR category_groups && CAST(:categories AS text[]))
UNION ALL
SELECT card, service_id, location_id FROM service_site
WHERE status = 'active' AND is_private
  AND coarse_geom && ST_MakeEnvelope(:min_lon, :min_lat, :max_lon, :max_lat, 4326)
  AND (cardinality(CAST(:categories AS text[])) = 0 OR category_groups && CAST(:categories AS text[]))
ORDER BY service_id, location_id
"""


def snapshot_services(connection: Connection, bbox: BBox, categories: tuple[str, ...], now: datetime) -> list[dict]:
    """The sites a pack carries, as ``/v1/services/nearest`` shows them (minus distance)."""
    params = dict(zip(("min_lon", "min_lat", "max_lon", "max_lat"), bbox), categories=list(categories))
    return [offline_summary(row.card, now) for row in connection.execute(text(_SNAPSHOT_SQL), params)]


def _write_snapshot(reader: Connection, plan: PackPlan, data_version: int, final: Path, now: datetime) -> tuple[int, int, str]:
    services = snapshot_services(reader, plan.bbox, plan.categories, now)
    body = orjson.dumps({"data_version": data_version, "generated_at": now.isoformat(), "bbox": list(plan.bbox),
                         "categories": list(plan.categories),
                         "capacity_stale_after_s": int(stale_after().total_seconds()), "services": services})
    temp = _temp_path(final)
    try:
        temp.write_bytes(gzip.compress(body, compresslevel=9, mtime=0))
        os.replace(temp, final)
    except BaseException:
        _unlink(temp)
        raise
    return len(services), len(body), hashlib.sha256(body).hexdigest()


def _build_files(reader: Connection, plan: PackPlan, pack_id: uuid.UUID, data_version: int, directory: Path,
                 settings: PackSettings, now: datetime) -> _Built:
    archive, snapshot = archive_path(directory, pack_id), snapshot_path(directory, pack_id)
    try:
        tiles = _render_archive(reader, plan, pack_id, data_version, archive, settings)
        count, snapshot_bytes, snapshot_sha = _write_snapshot(reader, plan, data_version, snapshot, now)
        archive_bytes = archive.stat().st_size
        if archive_bytes + snapshot.stat().st_size > settings.max_bytes:
            raise _bytes_too_large(plan, settings, None)
        if plan.basemap is not None:
            left = settings.max_bytes - archive_bytes - snapshot.stat().st_size
            try:
                basemap_parts.write_pack_part(plan.basemap, directory, pack_id, plan.bbox, plan.min_zoom, plan.max_zoom,
                                              max_bytes=left)
            except basemap_parts.PartTooLarge:
                raise _bytes_too_large(plan, settings, None) from None
        return _Built(tiles, archive_bytes, _sha256_file(archive), count, snapshot_bytes, snapshot_sha)
    except BaseException:
        _unlink(archive, snapshot)
        basemap_parts.remove_part(directory, pack_id)
        raise


# --- manifests ----------------------------------------------------------------------------------


_COLUMNS = ("id, request_key, data_version, request, tile_count, archive_bytes, archive_sha256, service_count, "
            "snapshot_bytes, snapshot_sha256, created_at, last_used_at, storage")


def basemap_part_info(storage: PackStorage | Path | None, pack_id: uuid.UUID | str,
                      connection: Connection | None = None) -> dict | None:
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


def _lock_key(request_key: str) -> int:
    return int.from_bytes(bytes.fromhex(request_key[:16]), "big", signed=True)


def _elsewhere(pack_id: uuid.UUID | str) -> Problem:
    """A pack whose files are in another host's folder (local storage on several hosts)."""
    log.warning("offline pack %s is in another host's folder: hosts sharing a database must share pack storage "
                "(FIELDNAV_PACKS_STORAGE=database)", pack_id)
    return Problem(503, "pack-storage-not-shared",
                   f"Offline pack {pack_id} is kept on another server; try again shortly. (Operators: servers that "
                   "share a database must share pack storage: set FIELDNAV_PACKS_STORAGE=database.)",
                   title="Pack on another server",
                   detail_fr=f"La zone hors ligne {pack_id} est gardée sur un autre serveur : réessayez dans un instant. "
                             "(Exploitants : des serveurs qui partagent une base de données doivent partager le "
                             "stockage des zones : FIELDNAV_PACKS_STORAGE=database.)",
                   headers={"Retry-After": "1"})


def _store_of(stores: PackStores, row) -> PackStorage:
    store = stores.for_location(row.storage)
    if store is None:
        raise _elsewhere(row.id)
    return store


def _remove_files(store: PackStorage, connection: Connection | None, pack_id: uuid.UUID | str) -> int:
    return sum(store.delete(connection, name) for name in file_names(pack_id))


def _has_files(store: PackStorage, pack_id: uuid.UUID | str, connection: Connection | None = None) -> bool:
    return store.exists(archive_name(pack_id), connection) and store.exists(snapshot_name(pack_id), connection)


def _reuse(guard: Connection, plan: PackPlan, data_version: int, stores: PackStores, now: datetime):
    row = guard.execute(
        text(f"UPDATE offline_pack SET last_used_at = :now WHERE request_key = :key AND data_version = :version "
             f"RETURNING {_COLUMNS}"),
        {"now": now, "key": plan.request_key, "version": data_version},
    ).one_or_none()
    if row is None:
        return None
    # In another host's folder: that host serves it; never delete it from here (issue 15, 13).
    store = _store_of(stores, row)
    if _has_files(store, row.id, guard):
        return row
    # Its files are gone from a store this host reaches (removed by hand, a lost disk):
    # forget it and build again.
    guard.execute(text("DELETE FROM offline_pack WHERE id = :id"), {"id": row.id})
    _remove_files(store, guard, row.id)
    return None


def default_stores(engine: Engine, settings: PackSettings, directory: Path | None = None) -> PackStores:
    """The stores of a caller that has none of its own (tests, commands): reads of packs in
    the database go through ``engine``."""
    return PackStores(settings.storage, directory or pack_dir(settings), engine)


def find_reusable(engine: Engine, plan: PackPlan, stores: PackStores, now: datetime) -> dict | None:
    """The manifest of the pack already built for this plan at the current data version
    (marked as used), without waiting for any lock or build slot; None when there is none,
    or when its files are gone (the build under the lock sorts that out)."""
    with engine.begin() as connection:
        row = connection.execute(
            text(f"UPDATE offline_pack SET last_used_at = :now WHERE request_key = :key "
                 f"AND data_version = (SELECT version FROM data_version WHERE id = 1) RETURNING {_COLUMNS}"),
            {"now": now, "key": plan.request_key},
        ).one_or_none()
        if row is None:
            return None
        store = _store_of(stores, row)
        if not _has_files(store, row.id, connection):
            return None
        return manifest(row, store, connection)


def build_or_reuse(engine: Engine, request: PackRequest, *, settings: PackSettings, now: datetime,
                   directory: Path | None = None, stores: PackStores | None = None,
                   wait_until_s: float | None = None) -> tuple[dict, bool]:
    """The manifest of the pack for this request at the current data version, and whether
    it was built now (True) or reused (False). Raises Problem 422 for a refused request, 503
    when no database-wide build slot frees up by ``wait_until_s`` (time.monotonic(); default
    ``queue_wait_s`` from now) or the build outlasts ``build_timeout_s``.

    ``engine`` is the packs' own (service/maps/pack_queue.py); the caller bounds how many builds
    one process runs."""
    plan = plan_pack(request, settings)
    stores = stores or default_stores(engine, settings, directory)
    found = find_reusable(engine, plan, stores, now)
    if found is not None:
        return found, False
    if wait_until_s is None:
        wait_until_s = time.monotonic() + settings.queue_wait_s
    store = stores.default
    # Files are made in the local folder (moved into place there), or aside for the database.
    local = isinstance(store, LocalStorage)
    staging = store.directory if local else Path(tempfile.mkdtemp(prefix="fieldnav-pack-"))
    staging.mkdir(parents=True, exist_ok=True)
    try:
        with engine.connect() as guard, guard.begin():
            guard.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(plan.request_key)})
            reader_options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
            with engine.connect().execution_options(**reader_options) as reader, reader.begin():
                data_version = read_data_version(reader)
                existing = _reuse(guard, plan, data_version, stores, now)
                if existing is not None:
                    return manifest(existing, _store_of(stores, existing), guard), False
                take_database_slot(guard, settings.max_concurrent_builds_total, wait_until_s)
                deadline_s = time.monotonic() + settings.build_timeout_s
                pack_id = uuid.uuid4()
                built = _build_files(DeadlineConnection(reader, deadline_s, settings.build_timeout_s), plan, pack_id,
                                     data_version, staging, settings, now)
            try:
                row = guard.execute(
                    text(f"""INSERT INTO offline_pack (id, request_key, data_version, request, tile_count, archive_bytes,
                             archive_sha256, service_count, snapshot_bytes, snapshot_sha256, created_at, last_used_at,
                             storage)
                             VALUES (:id, :key, :version, CAST(:request AS jsonb), :tile_count, :archive_bytes,
                             :archive_sha256, :service_count, :snapshot_bytes, :snapshot_sha256, :now, :now, :storage)
                             RETURNING {_COLUMNS}"""),
                    {"id": pack_id, "key": plan.request_key, "version": data_version, "storage": store.location,
                     "request": orjson.dumps(plan.canonical()).decode(), "now": now, **built.__dict__},
                ).one()
                for name in file_names(pack_id):
                    if (staging / name).is_file():
                        store.put(guard, pack_id, name, staging / name)
                result = manifest(row, store, guard)
            except BaseException:
                _unlink(*(staging / name for name in file_names(pack_id)))
                raise
    finally:
        if not local:
            shutil.rmtree(staging, ignore_errors=True)
    try:
        with engine.begin() as connection:
            collect_garbage(connection, stores, now, settings.keep_days)
    except Exception:  # noqa: BLE001 - a failed clean-up must not fail the build it follows
        log.exception("offline pack garbage collection failed")
    return result, True


def find_pack(connection: Connection, pack_id: uuid.UUID):
    return connection.execute(text(f"SELECT {_COLUMNS} FROM offline_pack WHERE id = :id"), {"id": pack_id}).one_or_none()


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


def open_pack_file(engine: Engine, pack_id: uuid.UUID, kind: str, *, now: datetime, directory: Path | None = None,
                   stores: PackStores | None = None) -> PackFile:
    """The file of a pack to serve (``kind`` "archive" or "services"), marking the pack as
    used (at most every TOUCH_INTERVAL). Raises Problem 404 when the pack is unknown or gone,
    503 pack-storage-not-shared when its files are in another host's folder."""
    stores = stores or default_stores(engine, PackSettings(), directory)
    with engine.begin() as connection:
        row = connection.execute(
            text(f"UPDATE offline_pack SET last_used_at = :now WHERE id = :id AND last_used_at < :stale "
                 f"RETURNING {_COLUMNS}"),
            {"id": pack_id, "now": now, "stale": now - TOUCH_INTERVAL},
        ).one_or_none() or find_pack(connection, pack_id)
    store = name = size = None
    if row is not None:
        store = _store_of(stores, row)
        name = archive_name(row.id) if kind == "archive" else snapshot_name(row.id)
        size = store.size(name)
    if size is None:
        raise Problem(404, "not-found", f"No offline pack {pack_id}: it never existed or was removed after a "
                      "long time unused. Ask for a new one with POST /v1/offline/packs.",
                      detail_fr=f"Aucune zone hors ligne {pack_id} : elle n’a jamais existé, ou elle a été supprimée après "
                      "une longue période sans usage. Demandez-en une nouvelle avec POST /v1/offline/packs.")
    # (The size stored: the snapshot's is that of its gzip, not the JSON's of the manifest.)
    return PackFile(store, name, row.archive_sha256 if kind == "archive" else row.snapshot_sha256, size, row.created_at)


def basemap_part_file(found: PackFile, pack_id: uuid.UUID | str) -> PackFile | None:
    """A pack's basemap part, in the store of its other files; None when it has none."""
    info = basemap_part_info(found.storage, pack_id)
    if info is None:
        return None
    return PackFile(found.storage, file_names(pack_id)[2], info["sha256"], info["bytes"], found.created_at)


def pack_manifest(engine: Engine, pack_id: uuid.UUID, *, directory: Path | None = None,
                  stores: PackStores | None = None) -> dict:
    stores = stores or default_stores(engine, PackSettings(), directory)
    with engine.connect() as connection:
        row = find_pack(connection, pack_id)
    store = _store_of(stores, row) if row is not None else None
    if store is None or not store.exists(archive_name(row.id)):
        raise Problem(404, "not-found", f"No offline pack {pack_id}: it never existed or was removed after a "
                      "long time unused. Ask for a new one with POST /v1/offline/packs.",
                      detail_fr=f"Aucune zone hors ligne {pack_id} : elle n’a jamais existé, ou elle a été supprimée après "
                      "une longue période sans usage. Demandez-en une nouvelle avec POST /v1/offline/packs.")
    return manifest(row, store)


# --- garbage collection -------------------------------------------------------------------------


@dataclass(frozen=True)
class Collected:
    packs: int
    files: int


def collect_garbage(connection: Connection, pack_dir: Path | PackStores, now: datetime, keep_days: float) -> Collected:
    """Remove unused and superseded packs (rows and files) and orphan files; see the module
    docstring for the rules. Runs in the caller's transaction. ``pack_dir``: this host's
    stores, or its pack folder. Files in the database go with their rows (in this
    transaction); those in another host's folder are that host's orphans to remove."""
    stores = pack_dir if isinstance(pack_dir, PackStores) else PackStores("local", pack_dir, connection.engine)
    pack_dir = stores.directory
    removed = connection.execute(
        text("""WITH gone AS (
                    DELETE FROM offline_pack
                    WHERE last_used_at < :unused
                       OR (data_version < (SELECT version FROM data_version WHERE id = 1) AND last_used_at < :superseded)
                    RETURNING id, storage)
                SELECT id, storage, (SELECT count(*) FROM offline_pack_file f WHERE f.pack_id = gone.id) AS stored
                FROM gone"""),
        {"unused": now - timedelta(days=keep_days), "superseded": now - SUPERSEDED_GRACE},
    ).all()
    files = 0
    for pack_id, location, stored in removed:
        store = stores.for_location(location)
        if store is stores.database:
            files += stored  # deleted with the row
        elif store is not None:
            files += _remove_files(store, connection, pack_id)
    if pack_dir.is_dir():
        known = {str(i) for i in connection.execute(text("SELECT id FROM offline_pack")).scalars()}
        old = (now - ORPHAN_GRACE).timestamp()
        for path in pack_dir.iterdir():
            if not path.is_file():
                continue
            name = path.name
            is_temp = TEMP_MARK in name
            pack_id = name.split(".", 1)[0]
            ours = is_temp or name.endswith((ARCHIVE_SUFFIX, SNAPSHOT_SUFFIX, basemap_parts.INFO_SUFFIX))
            if not ours or (not is_temp and pack_id in known):
                continue
            try:
                if path.stat().st_mtime < old:
                    _unlink(path)
                    files += 1
            except FileNotFoundError:
                continue
    return Collected(packs=len(removed), files=int(files))
