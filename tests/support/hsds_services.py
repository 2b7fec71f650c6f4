"""Small HSDS 3 compiled services that tests build and import."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import create_engine

from service.importer import import_path

PLACES = {  # (lon, lat)
    "toronto_downtown": (-79.3832, 43.6532),
    "north_york": (-79.4111, 43.7615),
    "scarborough": (-79.2318, 43.7731),
    "ottawa_centre": (-75.6972, 45.4215),
    "kanata": (-75.9130, 45.3088),
}
TORONTO, OTTAWA = PLACES["toronto_downtown"], PLACES["ottawa_centre"]
HOURS_POINT = (43.70011, -79.41630)  # (lat, lon): where scheduled_service puts its sites


def service_json(name: str, lon: float, lat: float, code: str = "BH-1800.8500", private: bool = False) -> dict:
    """One HSDS 3 compiled service at one location (code BH-1800.8500: a shelter)."""
    ids = {
        part: str(uuid.uuid5(uuid.NAMESPACE_URL, f"tiles-test/{name}/{part}")) for part in ("s", "a", "t", "sal", "loc")
    }
    return {
        "id": ids["s"],
        "name": name,
        "status": "active",
        "attributes": [
            {"id": ids["a"], "taxonomy_term": {"id": ids["t"], "code": code, "name": name, "description": "x"}}
        ],
        "service_at_locations": [
            {
                "id": ids["sal"],
                "location": {
                    "id": ids["loc"],
                    "location_type": "physical",
                    "name": name,
                    "latitude": lat,
                    "longitude": lon,
                    "address_private": private,
                },
            }
        ],
    }


def import_services(database_url: str, folder, source: str, services: list[dict]) -> int:
    path = folder / f"{source}.json"
    path.write_text(json.dumps(services))
    engine = create_engine(database_url)
    try:
        return import_path(engine, path, source=source).data_version
    finally:
        engine.dispose()


def scheduled_service(name: str, schedules: list[dict], category_code: str = "BH-1800.8500") -> dict:
    """One HSDS 3 compiled service near HOURS_POINT with these schedules (default code: a shelter)."""
    service_id = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
    return {
        "id": service_id,
        "name": name,
        "status": "active",
        "attributes": [
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, name + "/a")),
                "taxonomy_term": {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, category_code)),
                    "code": category_code,
                    "name": "Shelter",
                    "description": "x",
                },
            }
        ],
        "schedules": [
            {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}/{i}")), "freq": "WEEKLY", **s}
            for i, s in enumerate(schedules)
        ],
        "service_at_locations": [
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, name + "/sal")),
                "location": {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, name + "/loc")),
                    "location_type": "physical",
                    "name": name,
                    "latitude": HOURS_POINT[0],
                    "longitude": HOURS_POINT[1] + len(name) / 100_000,
                },
            }
        ],
    }
