"""Services with service areas, and boundary files, for tests/test_service_areas.py."""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path

from tests.support.hsds_services import service_json


def area(name: str | None, extent: str | None = None, extent_type: str | None = None, **extra) -> dict:
    """One HSDS service_area object (its id derived from its name and extent)."""
    key = f"area/{name}/{extent}/{extent_type}/{sorted(extra.items())}"
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
        "name": name,
        "extent": extent,
        "extent_type": extent_type,
        **extra,
    }


def service_with_areas(name: str, lon: float, lat: float, areas: list[dict]) -> dict:
    service = service_json(name, lon, lat)
    service["service_areas"] = areas
    return service


def square(lon: float, lat: float, half_deg: float) -> list[list[float]]:
    """A closed ring around (lon, lat)."""
    return [
        [lon - half_deg, lat - half_deg],
        [lon + half_deg, lat - half_deg],
        [lon + half_deg, lat + half_deg],
        [lon - half_deg, lat + half_deg],
        [lon - half_deg, lat - half_deg],
    ]


def wobbly_ring(lon: float, lat: float, radius_deg: float, points: int, seed: int) -> list[list[float]]:
    """A closed star-shaped ring: lobes, and a zigzag of 0.0002 degrees (finer than
    serves_geom's simplification) from point to point."""
    ring = []
    for i in range(points):
        angle = 2 * math.pi * i / points
        lobes = 1 + 0.25 * math.sin(7 * angle + seed) + 0.1 * math.sin(31 * angle + 2 * seed)
        r = radius_deg * lobes + (0.0002 if i % 2 else -0.0002)
        ring.append([round(lon + r * math.cos(angle), 6), round(lat + r * math.sin(angle), 6)])
    ring.append(ring[0])
    return ring


def polygon_json(rings: list[list[list[float]]]) -> str:
    return json.dumps({"type": "Polygon", "coordinates": rings})


def feature(name: str | None, geometry: dict | None, **properties) -> dict:
    props = {"name": name, **properties} if name is not None else dict(properties)
    return {"type": "Feature", "properties": props, "geometry": geometry}


def write_boundaries(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path
