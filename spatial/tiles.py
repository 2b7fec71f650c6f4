"""Web Mercator tile math (XYZ scheme, as slippy maps and MapLibre use it).

Plain values in, plain values out (see docs/design.md: spatial never imports service). Tile ``y``
counts from the north edge of the world down; metres are EPSG:3857 metres, degrees are
WGS84 lon/lat. The formulas match PostGIS's ``ST_TileEnvelope`` exactly (same operations
in the same order), so a tile's edges here and in SQL are the same floats.

Which tile a point belongs to is half-open: ``xmin <= x < xmax`` and ``ymin < y <= ymax``
(in metres; equivalently ``x_index = floor(...)``, ``y_index = floor(...)``). Every point
then lies in exactly one tile per zoom, and the four children of a tile hold exactly the
points of their parent: that is what makes cluster counts add up across zooms.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

# Mapbox Vector Tile geometry is in integer tile units: 4096 per tile side, and features are
# kept up to 64 units past the edges so symbols at tile edges are drawn whole.
EXTENT = 4096
BUFFER = 64
BUFFER_FRACTION = BUFFER / EXTENT

EARTH_RADIUS_M = 6378137.0
HALF_WORLD_M = math.pi * EARTH_RADIUS_M  # 20037508.342789244
MAX_LAT_DEG = math.degrees(math.atan(math.sinh(math.pi)))  # 85.0511287798066
# ST_TileEnvelope refuses deeper zooms; no map goes near it.
ZOOM_LIMIT = 30

Bounds = tuple[float, float, float, float]  # (xmin, ymin, xmax, ymax) or (west, south, east, north)


class TileOutOfRange(ValueError):
    """A z/x/y address that names no tile; the message says what is wrong, for people."""


def tiles_per_side(z: int) -> int:
    """Number of tiles across (and down) the world at zoom ``z``."""
    return 1 << z


def check_tile(z: int, x: int, y: int, max_zoom: int = ZOOM_LIMIT) -> None:
    """Raise TileOutOfRange unless 0 <= z <= max_zoom and x, y are in 0 .. 2^z - 1."""
    max_zoom = min(max_zoom, ZOOM_LIMIT)
    if not 0 <= z <= max_zoom:
        raise TileOutOfRange(f"Zoom {z} is out of range: tiles exist for zoom 0 to {max_zoom}.")
    last = tiles_per_side(z) - 1
    if not (0 <= x <= last and 0 <= y <= last):
        raise TileOutOfRange(f"Tile {z}/{x}/{y} does not exist: at zoom {z}, x and y go from 0 to {last}.")


def tile_size_m(z: int) -> float:
    """Side of a tile at zoom ``z`` in EPSG:3857 metres."""
    return (2 * HALF_WORLD_M) / tiles_per_side(z)


def tile_bounds_3857(z: int, x: int, y: int) -> Bounds:
    """(xmin, ymin, xmax, ymax) of the tile in EPSG:3857 metres, as ST_TileEnvelope(z, x, y)."""
    size_m = tile_size_m(z)
    return (
        -HALF_WORLD_M + size_m * x,
        HALF_WORLD_M - size_m * (y + 1),
        -HALF_WORLD_M + size_m * (x + 1),
        HALF_WORLD_M - size_m * y,
    )


def mercator_to_lonlat(x_m: float, y_m: float) -> tuple[float, float]:
    """EPSG:3857 metres to WGS84 (lon, lat) degrees."""
    return x_m / HALF_WORLD_M * 180.0, math.degrees(math.atan(math.sinh(y_m / EARTH_RADIUS_M)))


def lonlat_to_mercator(lon_deg: float, lat_deg: float) -> tuple[float, float]:
    """WGS84 degrees to EPSG:3857 metres; latitude is clamped to the Mercator limit."""
    lat_deg = max(-MAX_LAT_DEG, min(MAX_LAT_DEG, lat_deg))
    return (
        lon_deg / 180.0 * HALF_WORLD_M,
        math.log(math.tan(math.pi / 4 + math.radians(lat_deg) / 2)) * EARTH_RADIUS_M,
    )


def tile_bounds_4326(z: int, x: int, y: int) -> Bounds:
    """(west, south, east, north) of the tile in WGS84 degrees."""
    xmin, ymin, xmax, ymax = tile_bounds_3857(z, x, y)
    west, south = mercator_to_lonlat(xmin, ymin)
    east, north = mercator_to_lonlat(xmax, ymax)
    return west, south, east, north


def tile_for_lonlat(lon_deg: float, lat_deg: float, z: int) -> tuple[int, int]:
    """(x, y) of the tile holding a point at zoom ``z`` (half-open edges; clamped to the world)."""
    x_m, y_m = lonlat_to_mercator(lon_deg, lat_deg)
    size_m = tile_size_m(z)
    last = tiles_per_side(z) - 1
    x = math.floor((x_m + HALF_WORLD_M) / size_m)
    y = math.floor((HALF_WORLD_M - y_m) / size_m)
    return min(max(x, 0), last), min(max(y, 0), last)


def tile_range(bbox_deg: Bounds, z: int) -> tuple[int, int, int, int]:
    """(x_min, y_min, x_max, y_max), inclusive, of the tiles at zoom ``z`` covering a
    (west, south, east, north) box in degrees. The box may not cross the antimeridian."""
    west, south, east, north = bbox_deg
    if west > east or south > north:
        raise ValueError("bbox must be (west, south, east, north) with west <= east and south <= north")
    x_min, y_min = tile_for_lonlat(west, north, z)
    x_max, y_max = tile_for_lonlat(east, south, z)
    return x_min, y_min, x_max, y_max


def tiles_covering(bbox_deg: Bounds, zooms: range | list[int] | tuple[int, ...]) -> Iterator[tuple[int, int, int]]:
    """Every (z, x, y) covering the box at each zoom, zoom by zoom, rows north to south."""
    for z in zooms:
        x_min, y_min, x_max, y_max = tile_range(bbox_deg, z)
        for y in range(y_min, y_max + 1):
            for x in range(x_min, x_max + 1):
                yield z, x, y


def tile_count(bbox_deg: Bounds, zooms: range | list[int] | tuple[int, ...]) -> int:
    """How many tiles ``tiles_covering`` yields, without listing them."""
    total = 0
    for z in zooms:
        x_min, y_min, x_max, y_max = tile_range(bbox_deg, z)
        total += (x_max - x_min + 1) * (y_max - y_min + 1)
    return total


def children(z: int, x: int, y: int) -> list[tuple[int, int, int]]:
    """The four tiles one zoom deeper that make up this one."""
    return [(z + 1, 2 * x + dx, 2 * y + dy) for dy in (0, 1) for dx in (0, 1)]


def parent(z: int, x: int, y: int) -> tuple[int, int, int]:
    """The tile one zoom up that holds this one (zoom 0 has no parent)."""
    if z == 0:
        raise ValueError("tile 0/0/0 has no parent")
    return z - 1, x // 2, y // 2


# Zoom -> H3 resolution of the clusters drawn below the points zoom. A 512 px tile at 45°N is
# ~880 km wide at z5, ~220 km at z7, ~55 km at z9, ~14 km at z11 and ~7 km at z12; H3 cells
# are ~45 km across at r4, ~17 km at r5, ~6.5 km at r6, ~2.4 km at r7 and ~0.9 km at r8. Each
# step keeps a cell at roughly 15-60 px on screen: cluster symbols do not pile up, and a tile
# never holds more than a few hundred cells however many services there are.
_CLUSTER_RESOLUTIONS: tuple[tuple[int, int], ...] = ((5, 4), (7, 5), (9, 6), (11, 7), (12, 8))
CLUSTER_RESOLUTIONS: tuple[int, ...] = tuple(res for _, res in _CLUSTER_RESOLUTIONS)


def cluster_resolution(z: int) -> int:
    """H3 resolution of the cluster cells drawn at zoom ``z`` (the finest, 8, from z12 on)."""
    for max_zoom, resolution in _CLUSTER_RESOLUTIONS:
        if z <= max_zoom:
            return resolution
    return CLUSTER_RESOLUTIONS[-1]
