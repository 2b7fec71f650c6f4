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
# The WGS84 ellipsoid's equatorial radius and inverse flattening (EPSG:7030).
WGS84_A_M = 6_378_137.0
WGS84_INVERSE_FLATTENING = 298.257223563
# Web Mercator (EPSG:3857, "pseudo-Mercator"): the spherical formulas on the WGS84 equatorial
# radius, applied to WGS84 latitude and longitude.
WEB_MERCATOR_RADIUS_M = WGS84_A_M
# At latitude phi, a metre on the ellipsoid is at most sec(phi) / (1 - e^2) metres of Web
# Mercator, in any direction: the map stretches by a * sec(phi) per radian of latitude and
# a per radian of longitude, and the ellipsoid's radii of curvature (rho along a meridian,
# nu along a parallel) are both at least a * (1 - e^2).
WGS84_E2 = 0.00669437999014
MERCATOR_OVER_SECANT_MAX = 1.0 / (1.0 - WGS84_E2)


def box_half_sizes_deg(lat_deg: float, radius_m: float) -> tuple[float, float]:
    """(dx, dy) in degrees such that every point within ``radius_m`` of a point at
    ``lat_deg`` lies inside lon ± dx, lat ± dy. Errs on the large side: the box only
    bounds an index scan, the exact test is geodesic."""
    dy_deg = radius_m / MIN_METRES_PER_DEG_LAT * BOX_OVERSIZE
    widest_lat = min(MAX_BOX_LAT_DEG, abs(lat_deg) + dy_deg)  # longitude degrees shrink poleward
    dx_deg = radius_m / (METRES_PER_DEG_LON_AT_EQUATOR * math.cos(math.radians(widest_lat))) * BOX_OVERSIZE
    return min(dx_deg, 180.0), min(dy_deg, 90.0)


def web_mercator_m(lat_deg: float, lon_deg: float) -> tuple[float, float]:
    """(x, y) in EPSG:3857 metres: what PostGIS's ST_Transform(point, 3857) gives for a
    longitude within [-180, 180] (tests/test_geodesy.py compares them)."""
    lat_rad = math.radians(max(-MAX_BOX_LAT_DEG, min(MAX_BOX_LAT_DEG, lat_deg)))
    return (
        WEB_MERCATOR_RADIUS_M * math.radians(lon_deg),
        WEB_MERCATOR_RADIUS_M * math.log(math.tan(math.pi / 4 + lat_rad / 2)),
    )


def round_up_km(distance_m: float) -> int:
    """Whole kilometres, rounded up, in metres (coarse distances for confidential sites)."""
    return math.ceil(distance_m / 1000.0) * 1000
