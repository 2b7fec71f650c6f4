"""Shape service_site cards into what the app shows: hours now, distance, bearing, and the
GeoJSON form. Plain dicts in, plain dicts out."""

from __future__ import annotations

from datetime import datetime

from service.capacity.merge import with_freshness
from service.directory.hours import open_status_now

CALL_TO_CONNECT = "call to connect"

# Card fields used to compute others and not shown as such.
_INTERNAL = ("week_intervals", "open_ranges")


def hours_now(card: dict, now: datetime) -> dict:
    status = open_status_now(card.get("week_intervals"), card["timezone"], now, card.get("open_ranges"))
    return {
        "state": status.state,
        "always_open": status.always_open,
        "label": status.label,
        "next_change": status.next_change,
        "today": list(status.today),  # a copy: the status is shared (open_status_now)
        "opens_at": status.opens_at,
        "closes_at": status.closes_at,
        "timezone": card["timezone"],
    }


def service_summary(card: dict, now: datetime) -> dict:
    summary = {k: v for k, v in card.items() if k not in _INTERNAL}
    # Whether a count is stale depends on the clock, so it is added here, not stored.
    summary["capacity"] = with_freshness(card.get("capacity"), now)
    summary["capacities"] = [with_freshness(entry, now) for entry in card.get("capacities") or []]
    summary.setdefault("open_reports", [])
    # Who it is for (service/directory/populations.py); cards built before migration 0021 have
    # neither until the rebuild, and state no restriction.
    summary.setdefault("populations", [])
    summary.setdefault("population_restricted", False)
    summary["label"] = CALL_TO_CONNECT if card["confidential"] else None
    summary["hours"] = hours_now(card, now)
    return summary


def offline_summary(card: dict, now: datetime, serves_area: list | None = None) -> dict:
    """A summary for phones working offline: with the weekly hours rule (local week minutes,
    Monday 00:00 = 0) so the app can tell "open now" without a signal, and without the hours
    of the moment it was made (stale once stored; 7% of a pack's snapshot)."""
    summary = service_summary(card, now)
    del summary["hours"]
    summary["week_intervals"] = card.get("week_intervals")
    summary["open_ranges"] = card.get("open_ranges")
    # Where the service serves people, for serves= offline (service/areas/serves.py).
    summary["serves_area"] = serves_area
    return summary


def nearest_result(
    card: dict, distance_m: float, bearing_deg: float | None, serves_location: str, now: datetime
) -> dict:
    result = service_summary(card, now)
    result["serves_location"] = serves_location
    result["distance_m"] = round(distance_m)
    result["distance_is_approximate"] = bool(card["confidential"])
    result["bearing_deg"] = None if bearing_deg is None else round(bearing_deg) % 360
    return result


def feature_collection(items: list[dict], extra: dict | None = None) -> dict:
    """RFC 7946. Confidential sites are features with a null geometry (allowed by 3.2)."""
    features = []
    for item in items:
        has_point = item.get("lon") is not None and item.get("lat") is not None
        features.append(
            {
                "type": "Feature",
                "id": f"{item['service_id']}:{item['location_id']}",
                "geometry": {"type": "Point", "coordinates": [item["lon"], item["lat"]]} if has_point else None,
                "properties": {k: v for k, v in item.items() if k not in ("lon", "lat")},
            }
        )
    return {"type": "FeatureCollection", "features": features, **(extra or {})}
