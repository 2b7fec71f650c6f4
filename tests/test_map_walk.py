"""The Web Mercator bound that lets nearest's walk prove its answer (service/directory/nearest.py,
spatial.geodesy), checked against PostGIS itself: its ST_Transform for the point, its geodesic
distance on the ellipsoid for the bound."""

from __future__ import annotations

import math
import random

import pytest
from sqlalchemy import text

from service.directory import nearest
from spatial.geodesy import web_mercator_m

LATITUDES_DEG = (-60.0, -10.0, 0.0, 23.5, 42.0, 43.65, 49.0, 56.9, 62.5, 69.0, 74.7, 83.1)


@pytest.mark.parametrize("lat", LATITUDES_DEG)
def test_the_point_on_the_map_is_postgis_own(engine, lat):
    """The query point is computed in Python (its SQL would make every plan custom): it must be
    where ST_Transform puts the sites' stored points, to the micrometre."""
    with engine.connect() as connection:
        for lon in (-179.5, -141.0, -79.3839, -52.7, 0.0, 12.34, 179.9):
            x_m, y_m = connection.execute(
                text("SELECT ST_X(p), ST_Y(p) FROM ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 3857) p"),
                {"lat": lat, "lon": lon},
            ).one()
            ours = web_mercator_m(lat, lon)
            assert ours == pytest.approx((x_m, y_m), abs=1e-6), (lat, lon)


def test_the_poles_have_a_place_on_the_map():
    """Latitude ±90 is valid input: the map's point is finite (clamped at 89.9°), not an error."""
    for lat in (-90.0, 90.0):
        x_m, y_m = web_mercator_m(lat, 0.0)
        assert math.isfinite(x_m) and math.isfinite(y_m)


def test_every_site_within_a_distance_is_within_its_reach_on_the_map(engine):
    """The proof's bound: a site ``distance_m`` away on the ellipsoid (PostGIS's geodesic
    distance) is never farther than _reach_merc_m(distance_m) on the map, in any direction, at
    any latitude Canada has and far beyond it, from 10 m to 200 km; the tightest case is also
    close to the bound (the bound is not so loose that the walk fetches for nothing)."""
    rng = random.Random(21)
    pairs = []
    for _ in range(3000):
        lat = rng.uniform(-80.0, 80.0)
        lon = rng.uniform(-170.0, 170.0)
        distance_m = 10 ** rng.uniform(1, math.log10(200_000))
        bearing_deg = rng.uniform(0.0, 360.0)
        pairs.append({"lat": lat, "lon": lon, "distance_m": distance_m, "bearing_deg": bearing_deg})
    sql = text(f"""
        WITH p AS (
            SELECT CAST(:lat AS float8) AS lat, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS here,
                   ST_SetSRID(ST_MakePoint(CAST(:merc_x AS float8), CAST(:merc_y AS float8)), 3857) AS here_map
        ), s AS (
            SELECT p.*, ST_Project(p.here::geography, :distance_m, radians(:bearing_deg))::geometry AS site FROM p
        )
        SELECT ST_Distance(site::geography, here::geography) AS geodesic_m,
               ST_Distance(ST_Transform(site, 3857), here_map) AS map_m,
               {nearest._reach_merc_m("ST_Distance(site::geography, here::geography)")} AS reach_m
        FROM s
    """)
    ratios = []
    with engine.connect() as connection:
        for pair in pairs:
            merc_x, merc_y = web_mercator_m(pair["lat"], pair["lon"])
            geodesic_m, map_m, reach_m = connection.execute(sql, {**pair, "merc_x": merc_x, "merc_y": merc_y}).one()
            assert geodesic_m == pytest.approx(pair["distance_m"], rel=1e-3)
            assert map_m <= reach_m, pair
            ratios.append(map_m / reach_m)
    assert max(ratios) > 0.97
