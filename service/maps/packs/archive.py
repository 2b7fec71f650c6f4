"""A pack's tiles: every tile of the plan rendered into ``<id>.pmtiles``.

PMTiles v3 (service/maps/pmtiles_writer.py), tile type MVT, tiles gzip-compressed (what
MapLibre's ``pmtiles://`` protocol and tippecanoe/planetiler archives use), internal
directories gzip; empty tiles are left out (a missing tile is an empty tile); header zooms
and bounds are the request's; metadata JSON holds ``name``, ``vector_layers``,
``data_version``, ``pack_id`` and the request.
"""

from __future__ import annotations

import gzip
import os
import uuid
from pathlib import Path

from pmtiles.tile import Compression, TileType
from sqlalchemy import Connection

from service.maps import tiles
from service.maps.packs.files import temp_path, unlink
from service.maps.packs.plan import PackPlan, bytes_too_large
from service.maps.pmtiles_writer import ArchiveWriter, tiles_in_order
from service.platform.settings import PackSettings, tile_settings


def _vector_layers(plan: PackPlan, data_version: int) -> list[dict]:
    """The tile endpoint's TileJSON layers, cut to the pack's zooms."""
    layers = tiles.tilejson("", data_version, plan.bbox, tile_settings(), "")["vector_layers"]
    kept = []
    for layer in layers:
        low, high = max(layer["minzoom"], plan.min_zoom), min(layer["maxzoom"], plan.max_zoom)
        if low <= high:
            kept.append({**layer, "minzoom": low, "maxzoom": high})
    return kept


def _metadata(plan: PackPlan, pack_id: uuid.UUID, data_version: int) -> dict:
    return {
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


def _render_tiles(reader: Connection, plan: PackPlan, archive: ArchiveWriter, settings: PackSettings) -> int:
    """Render the plan's tiles into ``archive``, zoom by zoom in tile-id order; returns how
    many were not empty. Raises Problem 422 when the tiles pass ``settings.max_bytes``."""
    written = 0
    for zoom in range(plan.min_zoom, plan.max_zoom + 1):
        for tile_id, z, x, y in tiles_in_order(plan.bbox, zoom):
            data = tiles.render_tile(reader, z, x, y, plan.categories)
            if not data:
                continue
            archive.add(tile_id, gzip.compress(data, compresslevel=6, mtime=0))
            written += 1
            if archive.tile_bytes > settings.max_bytes:
                raise bytes_too_large(plan, settings, zoom)
    return written


def render_archive(
    reader: Connection, plan: PackPlan, pack_id: uuid.UUID, data_version: int, final: Path, settings: PackSettings
) -> int:
    """Render every tile of the plan into a PMTiles file at ``final``; returns the number of
    (non-empty) tiles written. Raises Problem 422 when the archive grows past the cap."""
    temp = temp_path(final)
    try:
        with ArchiveWriter(temp) as archive:
            written = _render_tiles(reader, plan, archive, settings)
            archive.finish(
                tile_type=TileType.MVT,
                tile_compression=Compression.GZIP,
                bbox=plan.bbox,
                zooms=(plan.min_zoom, plan.max_zoom),
                center_zoom=(plan.min_zoom + plan.max_zoom) // 2,
                metadata=_metadata(plan, pack_id, data_version),
            )
        os.replace(temp, final)
    except BaseException:
        unlink(temp)
        raise
    return written
