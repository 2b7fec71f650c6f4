"""A small basemap PMTiles archive for tests, made here (never downloaded): vector tiles
with a `land` layer (the whole tile) and a `water` layer (Lake Ontario as everything south
of a shoreline latitude), gzip-compressed like tippecanoe/planetiler output."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import mapbox_vector_tile
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from spatial.tiles import tile_range

TORONTO_BBOX = (-79.65, 43.55, -79.15, 43.85)
SHORELINE_LAT = 43.638
EXTENT = 4096
LAYERS = ("land", "water")


def _y_of_lat(lat: float, z: int, y: int) -> float:
    """Tile-local y (0 at the top, EXTENT at the bottom) of a latitude in tile (z, y)."""
    n = 2**z
    world_y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return (world_y - y) * EXTENT


def tile(z: int, x: int, y: int) -> bytes:
    layers = [
        {
            "name": "land",
            "features": [
                {
                    "geometry": f"POLYGON ((0 0, {EXTENT} 0, {EXTENT} {EXTENT}, 0 {EXTENT}, 0 0))",
                    "properties": {"kind": "earth"},
                }
            ],
        }
    ]
    shore = min(max(_y_of_lat(SHORELINE_LAT, z, y), 0), EXTENT)
    if shore < EXTENT:  # some of the tile lies south of the shore: water there
        layers.append(
            {
                "name": "water",
                "features": [
                    {
                        "geometry": f"POLYGON ((0 {shore}, {EXTENT} {shore}, {EXTENT} {EXTENT}, 0 {EXTENT}, 0 {shore}))",
                        "properties": {"kind": "lake", "name": "Lake Ontario"},
                    }
                ],
            }
        )
    return mapbox_vector_tile.encode(layers, default_options={"extents": EXTENT, "y_coord_down": True})


def write_basemap(
    path: Path, bbox: tuple[float, float, float, float] = TORONTO_BBOX, zooms: range = range(8, 15)
) -> dict:
    """Write the archive; returns {(z, x, y): tile bytes (uncompressed)} of every tile in it."""
    tiles: dict[tuple[int, int, int], bytes] = {}
    entries = []
    for z in zooms:
        min_x, min_y, max_x, max_y = tile_range(bbox, z)
        for x in range(min_x, max_x + 1):
            for y in range(min_y, max_y + 1):
                tiles[(z, x, y)] = tile(z, x, y)
                entries.append((zxy_to_tileid(z, x, y), (z, x, y)))
    entries.sort()
    e7 = lambda v: round(v * 10_000_000)  # noqa: E731
    with path.open("wb") as f:
        writer = Writer(f)
        for tile_id, zxy in entries:
            writer.write_tile(tile_id, gzip.compress(tiles[zxy], mtime=0))
        writer.finalize(
            {
                "tile_compression": Compression.GZIP,
                "tile_type": TileType.MVT,
                "min_lon_e7": e7(bbox[0]),
                "min_lat_e7": e7(bbox[1]),
                "max_lon_e7": e7(bbox[2]),
                "max_lat_e7": e7(bbox[3]),
                "center_zoom": zooms[0],
                "center_lon_e7": e7((bbox[0] + bbox[2]) / 2),
                "center_lat_e7": e7((bbox[1] + bbox[3]) / 2),
            },
            {
                "name": "fieldnav test basemap",
                "attribution": "fieldnav test basemap (generated)",
                "vector_layers": [{"id": name, "fields": {"kind": "String"}} for name in LAYERS],
            },
        )
    return tiles
