"""Distances and boxes on the WGS84 ellipsoid, as plain numbers.

The constants are also formatted into SQL (service/directory/nearest.py builds its boxes and
its stopping rule in the statement), so each is defined here once."""

from __future__ import annotations

import math

# Shortest length of one degree of latitude (at the equator), so boxes built from it are
# never too small.
MIN_METRES_PER_DEG_LAT = 110_574.0
METRES_PER_DEG_LON_AT_EQUATOR = 111_320.0
# Boxes are made 1% larger than the circle they hold (the spheroid, rounding).
BOX_OVERSIZE = 1.01
# The ellipsoid's geodesic distance is within 0.56% of the mean-radius sphere's (PostGIS's
# geography `<->`): from 0.9944 of it (along a meridian near the equator) to 1.0046 (near a
# pole). The walk in sphere order proves its answer with the smaller ratio, less a margin.
SPHEROID_OVER_SPHERE_MIN = 0.994
# Latitude at which a box stops widening: a degree of longitude is ~0 metres at the pole.
MAX_BOX_LAT_DEG = 89.9


def box_half_sizes_deg(lat_deg: float, radius_m: float) -> tuple[float, float]:
    """(dx, dy) in degrees such that every point within ``radius_m`` of a point at
    ``lat_deg`` lies inside lon ± dx, lat ± dy. Errs on the large side: the box only
    bounds an index scan, the exact test is geodesic."""
    dy_deg = radius_m / MIN_METRES_PER_DEG_LAT * BOX_OVERSIZE
    widest_lat = min(MAX_BOX_LAT_DEG, abs(lat_deg) + dy_deg)  # longitude degrees shrink poleward
    dx_deg = radius_m / (METRES_PER_DEG_LON_AT_EQUATOR * math.cos(math.radians(widest_lat))) * BOX_OVERSIZE
    return min(dx_deg, 180.0), min(dy_deg, 90.0)


def round_up_km(distance_m: float) -> int:
    """Whole kilometres, rounded up, in metres (coarse distances for confidential sites)."""
    return math.ceil(distance_m / 1000.0) * 1000
