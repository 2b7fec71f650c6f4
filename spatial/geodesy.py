"""Distances and boxes on the WGS84 ellipsoid, as plain numbers."""

from __future__ import annotations

import math

# Shortest length of one degree of latitude (at the equator), so boxes built from it are
# never too small.
MIN_METRES_PER_DEG_LAT = 110_574.0
METRES_PER_DEG_LON_AT_EQUATOR = 111_320.0


def box_half_sizes_deg(lat_deg: float, radius_m: float) -> tuple[float, float]:
    """(dx, dy) in degrees such that every point within ``radius_m`` of a point at
    ``lat_deg`` lies inside lon ± dx, lat ± dy. Errs on the large side: the box only
    bounds an index scan, the exact test is geodesic."""
    dy_deg = radius_m / MIN_METRES_PER_DEG_LAT * 1.01
    widest_lat = min(89.9, abs(lat_deg) + dy_deg)  # longitude degrees shrink poleward
    dx_deg = radius_m / (METRES_PER_DEG_LON_AT_EQUATOR * math.cos(math.radians(widest_lat))) * 1.01
    return min(dx_deg, 180.0), min(dy_deg, 90.0)


def round_up_km(distance_m: float) -> int:
    """Whole kilometres, rounded up, in metres (coarse distances for confidential sites)."""
    return int(math.ceil(distance_m / 1000.0)) * 1000
