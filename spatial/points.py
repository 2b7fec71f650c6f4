"""Point helpers: WKT for PostGIS and the H3 cells a point falls in.

Plain values in, plain values out (see docs/design.md: spatial never imports service).
"""

from __future__ import annotations

import h3

# Resolutions stored on every location (columns h3_r4 .. h3_r9): r4 cells are ~1,770 km²
# (province-scale clusters), r9 cells ~0.1 km² (a city block).
H3_RESOLUTIONS: tuple[int, ...] = (4, 5, 6, 7, 8, 9)


def point_ewkt(lon_deg: float, lat_deg: float) -> str:
    """EWKT for a WGS84 point, the text form PostGIS's geometry input accepts."""
    return f"SRID=4326;POINT({lon_deg!r} {lat_deg!r})"


def h3_cells(lon_deg: float, lat_deg: float, resolutions: tuple[int, ...] = H3_RESOLUTIONS) -> dict[int, int]:
    """{resolution: H3 cell as a 64-bit int} for a point. Stored as bigint: H3 ints use 63
    bits at most (the top bit is always 0), so they fit PostgreSQL's signed bigint."""
    finest = max(resolutions)
    cell = h3.latlng_to_cell(lat_deg, lon_deg, finest)
    cells = {}
    for res in resolutions:
        cells[res] = h3.str_to_int(cell if res == finest else h3.cell_to_parent(cell, res))
    return cells
