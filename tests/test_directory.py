"""Keyword search, one service in HSDS form, categories, and opening hours end to end."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import jsonschema
import pytest
from sqlalchemy import create_engine, text

from service.importer import import_path
from tests.support.hsds_services import HOURS_POINT, scheduled_service

SHARED = Path(__file__).resolve().parent / "data"  # tests/data/README.md


def test_search_is_full_text_in_english_and_french(demo_server):
    with demo_server.client() as client:
        page = client.get("/v1/services", params={"q": "food banks", "per_page": 5}).json()
        assert {
            "total_items",
            "total_pages",
            "page_number",
            "size",
            "first_page",
            "last_page",
            "empty",
            "contents",
        } <= set(page)
        assert page["total_items"] > 0 and page["first_page"] and page["size"] == 5
        assert all("food" in (c["name"] + " " + " ".join(c["category_groups"])).lower() for c in page["contents"])

        # French stemming: the plural finds "Banque alimentaire de ...".
        french = client.get("/v1/services", params={"q": "banques alimentaires"}).json()
        assert french["total_items"] > 0
        assert all("alimentaire" in c["name"].lower() for c in french["contents"])

        nothing = client.get("/v1/services", params={"q": "zzzqqqxxy"}).json()
        assert nothing["total_items"] == 0 and nothing["empty"] and nothing["contents"] == []


def test_search_pages_filters_and_orders(demo_server):
    with demo_server.client() as client:
        first = client.get("/v1/services", params={"category": "shelter", "per_page": 10}).json()
        second = client.get("/v1/services", params={"category": "shelter", "per_page": 10, "page": 2}).json()
        assert first["total_items"] == second["total_items"] > 10
        assert not {c["location_id"] for c in first["contents"]} & {c["location_id"] for c in second["contents"]}
        assert all("shelter" in c["category_groups"] for c in first["contents"] + second["contents"])
        past = client.get("/v1/services", params={"category": "shelter", "page": 500}).json()
        assert past["empty"] and past["total_items"] == first["total_items"] and past["last_page"]

        box = client.get("/v1/services", params={"bbox": "-79.6,43.6,-79.2,43.85", "per_page": 100}).json()
        assert box["total_items"] > 0
        assert all(-79.6 <= c["lon"] <= -79.2 and 43.6 <= c["lat"] <= 43.85 for c in box["contents"])

        near = client.get("/v1/services", params={"near": "45.4215,-75.6972", "per_page": 30}).json()
        distances = [c["distance_m"] for c in near["contents"] if c.get("distance_m") is not None]
        assert distances == sorted(distances) and len(distances) > 20


@pytest.mark.parametrize(
    "params, slug",
    [
        ({"bbox": "-80,43,-79"}, "validation-error"),
        ({"bbox": "-79,44,-80,43"}, "validation-error"),
        ({"bbox": "-95,41,-74,57"}, "bbox-too-large"),
        ({"near": "91,0"}, "validation-error"),
        ({"per_page": 101}, "validation-error"),
        ({"page": 0}, "validation-error"),
        ({"q": "x" * 201}, "validation-error"),
    ],
)
def test_search_refuses_bad_parameters(demo_server, params, slug):
    with demo_server.client() as client:
        response = client.get("/v1/services", params=params)
    assert response.status_code == 422 and response.json()["type"].endswith("/" + slug)


def _every(value, key: str):
    """Every value of ``key`` anywhere in ``value`` (nested objects and lists)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key:
                yield v
            yield from _every(v, key)
    elif isinstance(value, list):
        for item in value:
            yield from _every(item, key)


def test_service_detail_is_hsds_compiled(demo_server, demo_database_url):
    engine = create_engine(demo_database_url)
    with engine.connect() as connection:
        service_id = connection.execute(
            text(
                "SELECT service_id FROM service_site WHERE 'shelter' = ANY(category_groups) AND NOT is_private "
                "AND capacity_available IS NOT NULL LIMIT 1"
            )
        ).scalar_one()
    engine.dispose()
    with demo_server.client() as client:
        response = client.get(f"/v1/services/{service_id}")
    assert response.status_code == 200
    # Exactly the bytes the client gets, nothing removed: the official schema must accept them.
    service = json.loads(response.content)
    schema = json.loads((SHARED / "hsds-3.0/schema/compiled/service.json").read_text())
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(service))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]

    assert service["id"] == str(service_id) and "shelter" in service["category_groups"]
    assert service["capacities"] and service["capacities"][0]["unit"]["name"] == "beds"
    assert isinstance(service["service_at_locations"][0]["location"]["latitude"], float)
    assert "source" not in service and "content_hash" not in service
    assert None not in _every(service, "value") and "null" not in response.text  # absent is left out
    # HSDS 3.0: the UTC offset in hours (Toronto: -5 or -4); the zone's name beside it.
    schedules = [s for group in _every(service, "schedules") for s in group]
    assert schedules and all(s["timezone"] in (-5, -4) and s["timezone_name"] == "America/Toronto" for s in schedules)


def test_confidential_locations_in_detail_have_no_position(demo_server, demo_database_url):
    engine = create_engine(demo_database_url)
    with engine.connect() as connection:
        service_id = connection.execute(
            text("SELECT service_id FROM service_site WHERE is_private LIMIT 1")
        ).scalar_one()
    engine.dispose()
    with demo_server.client() as client:
        service = client.get(f"/v1/services/{service_id}").json()
    location = service["service_at_locations"][0]["location"]
    assert location["address_private"] is True
    assert "latitude" not in location and "longitude" not in location and location["addresses"] == []
    schema = json.loads((SHARED / "hsds-3.0/schema/compiled/service.json").read_text())
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(service))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


def test_detail_errors(demo_server):
    with demo_server.client() as client:
        missing = client.get(f"/v1/services/{uuid.uuid4()}")
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
        assert client.get("/v1/services/not-a-uuid").status_code == 422


def test_categories_have_labels_and_true_counts(demo_server, demo_database_url):
    with demo_server.client() as client:
        response = client.get("/v1/categories")
        body = response.json()
        assert client.get("/v1/categories", headers={"If-None-Match": response.headers["etag"]}).status_code == 304
    by_code = {c["code"]: c for c in body["categories"]}
    assert (
        by_code["shelter"]["label_fr"] == "Hébergement d'urgence" and by_code["senior_support"]["label_en"] == "Seniors"
    )
    engine = create_engine(demo_database_url)
    with engine.connect() as connection:
        shelters = connection.execute(
            text("SELECT count(*) FROM service WHERE 'shelter' = ANY(category_groups)")
        ).scalar_one()
    engine.dispose()
    assert by_code["shelter"]["service_count"] == shelters > 0
    assert all(c["service_count"] > 0 for c in body["categories"])


# --- hours end to end, on services made for it -------------------------------------------


@pytest.fixture
def hours_server(database_url, tmp_path):
    from tests.support.servers import start_server, stop_server

    services = [
        scheduled_service(
            "Always Open Shelter", [{"byday": "MO,TU,WE,TH,FR,SA,SU", "opens_at": "00:00", "closes_at": "00:00"}]
        ),
        scheduled_service(
            "Overnight Warming Centre", [{"byday": "MO,TU,WE,TH,FR,SA,SU", "opens_at": "20:00", "closes_at": "08:00"}]
        ),
        scheduled_service("Weekday Office", [{"byday": "MO,TU,WE,TH,FR", "opens_at": "09:00", "closes_at": "17:00"}]),
        scheduled_service("Mystery Hours Place", []),
    ]
    path = tmp_path / "hours.json"
    path.write_text(json.dumps(services))
    engine = create_engine(database_url)
    import_path(engine, path, source="hours")
    engine.dispose()
    server = start_server(database_url)
    yield server
    stop_server(server)


def _hours_at(server, when: str, **params) -> dict[str, dict]:
    with server.client() as client:
        body = client.get(
            "/v1/services/nearest", params={"lat": HOURS_POINT[0], "lon": HOURS_POINT[1], "open_at": when, **params}
        ).json()
    return {r["name"]: r["hours"] for r in body["results"]}


def test_open_at_2am_across_midnight_with_24_7_and_unknown(hours_server):
    # Wednesday 2026-11-25, 02:00 in Toronto: the warming centre opened Tuesday 20:00.
    at_2am = _hours_at(hours_server, "2026-11-25T02:00:00-05:00")
    assert set(at_2am) == {"Always Open Shelter", "Overnight Warming Centre"}  # open_at filters
    assert at_2am["Always Open Shelter"]["always_open"] and at_2am["Always Open Shelter"]["next_change"] == "24/7"
    assert at_2am["Overnight Warming Centre"]["next_change"] == "closes 08:00"
    assert at_2am["Overnight Warming Centre"]["closes_at"] == "2026-11-25T08:00:00-05:00"


def test_hours_labels_without_the_open_filter(hours_server):
    with hours_server.client() as client:
        body = client.get("/v1/services/nearest", params={"lat": HOURS_POINT[0], "lon": HOURS_POINT[1]}).json()
    names = {r["name"]: r["hours"] for r in body["results"]}
    assert (
        names["Mystery Hours Place"]["state"] == "unknown"
        and names["Mystery Hours Place"]["next_change"] == "hours unknown"
    )
    assert set(names) == {"Always Open Shelter", "Overnight Warming Centre", "Weekday Office", "Mystery Hours Place"}


def test_a_naive_open_at_is_toronto_time(hours_server):
    # Saturday 10:00 local: the weekday office is closed, and opens Monday.
    saturday = _hours_at(hours_server, "2026-11-28T10:00:00", category="shelter")
    assert "Weekday Office" not in saturday
    tuesday_noon = _hours_at(hours_server, "2026-11-24T12:00:00")
    assert tuesday_noon["Weekday Office"]["next_change"] == "closes 17:00"
    assert tuesday_noon["Weekday Office"]["today"] == ["09:00–17:00"]
