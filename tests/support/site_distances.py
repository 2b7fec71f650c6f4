"""The brute force nearest tests compare against: the geodesic distance from a point to every
site, by PostGIS, with no index and no cleverness (a confidential site at its coarse point)."""

from __future__ import annotations

from sqlalchemy import Engine, text

_DISTANCES = text("""
SELECT s.service_id::text || '/' || s.location_id::text,
       ST_Distance(CASE WHEN s.is_private THEN s.coarse_geom ELSE s.geom END::geography,
                   ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)
FROM service_site s WHERE s.geom IS NOT NULL
""")


def site_distances_m(engine: Engine, lat: float, lon: float) -> dict[str, float]:
    """Metres from (lat, lon) to every mapped site, keyed "service_id/location_id"."""
    with engine.connect() as connection:
        return dict(connection.execute(_DISTANCES, {"lat": lat, "lon": lon}).all())
