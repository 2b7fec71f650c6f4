"""Confidential sites leak no free text (issue 15, defect 1).

A location with ``address_private: true`` (a shelter for people fleeing violence) is known
only by the allow-list in service/directory/confidential.py: the service's name and organization
name, phones, hours, languages, eligibility, capacity and "call to connect", plus the ids
and keys clients need. Every other field of the data set below holds a unique marker; no
marker may come out of any output path, in any form (JSON, GeoJSON, sync pages, an offline
pack's snapshot and its tiles, the tile endpoint), while the allowed fields and the public
location's own text still show.
"""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator

import mapbox_vector_tile
import pytest
from pmtiles.reader import MemorySource, all_tiles
from sqlalchemy import create_engine

from service.importer import import_path
from spatial.tiles import tiles_covering
from tests.support.servers import LiveServer, start_server, stop_server

SOURCE = "confidential-text"
# The confidential site: its exact position must never come out (5-decimal forms included).
SECRET_LAT, SECRET_LON = 43.671717, -79.381818
SECRET_POSITION = ("43.6717", "79.3818")
PUBLIC_LAT, PUBLIC_LON = 43.6655, -79.3855
HERE = (43.6650, -79.3850)  # where the field worker stands
BBOX = [-79.42, 43.62, -79.35, 43.69]  # holds the confidential site's coarse cell centre (43.628, -79.366)

# Allowed for the confidential service: must show.
ALLOWED = {
    "service name": "Harbour Refuge Intake",
    "organization name": "Safe Harbour Society",
    "phone": "416-555-0199",
    "language": "French",
    "eligibility": "Women and children fleeing violence",
}
# The public contrast site: its own text still shows.
PUBLIC_TEXT = ("Maple Street Drop-in Hall", "10 Maple St", "Ramp at the front door")


def _id(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join((SOURCE, *parts))))


def _marker(field: str) -> str:
    """One unique, searchable word per field: zq + the field's name, letters only."""
    return "zq" + "".join(c for c in field.lower() if c.isalpha())


MARKERS: dict[str, str] = {}


def m(field: str) -> str:
    MARKERS[field] = _marker(field)
    return MARKERS[field]


def _term(code: str, name: str) -> dict:
    return {
        "id": _id("term", code),
        "code": code,
        "name": name,
        "description": m(f"term description {code}"),
        "term_uri": f"https://example.org/{m(f'term uri {code}')}",
    }


def confidential_service() -> dict:
    """Every free-text field HSDS 3 has (and the importer keeps) holds a marker."""
    location = {
        "id": _id("refuge", "loc"),
        "location_type": "physical",
        "address_private": True,
        "name": m("location name"),
        "alternate_name": m("location alternate name"),
        "description": f"Blue house at 123 Elm St {m('location description')}",
        "transportation": m("location transportation"),
        "url": f"https://example.org/{m('location url')}",
        "external_identifier": m("location external identifier"),
        "external_identifier_type": m("location external identifier type"),
        "latitude": SECRET_LAT,
        "longitude": SECRET_LON,
        "addresses": [
            {
                "id": _id("refuge", "addr", str(n)),
                "address_type": kind,
                "attention": m(f"address {kind} attention"),
                "address_1": m(f"address {kind} one"),
                "address_2": m(f"address {kind} two"),
                "city": m(f"address {kind} city"),
                "region": m(f"address {kind} region"),
                "state_province": m(f"address {kind} province"),
                "postal_code": m(f"address {kind} postal code"),
                "country": m(f"address {kind} country"),
            }
            for n, kind in enumerate(("physical", "postal"))
        ],
        "accessibility": [
            {
                "id": _id("refuge", "acc"),
                "description": f"Wheelchair ramp {m('accessibility description')}",
                "details": f"side door on Elm St {m('accessibility details')}",
                "url": f"https://example.org/{m('accessibility url')}",
            }
        ],
        "phones": [
            {"id": _id("refuge", "loc-phone"), "number": "416-555-0188", "description": m("location phone description")}
        ],
        "languages": [
            {"id": _id("refuge", "loc-lang"), "name": "Spanish", "code": "es", "note": m("location language note")}
        ],
        "schedules": [
            {
                "id": _id("refuge", "loc-sched"),
                "freq": "WEEKLY",
                "byday": "SA",
                "opens_at": "10:00",
                "closes_at": "12:00",
                "description": m("location schedule description"),
                "notes": m("location schedule notes"),
                "schedule_link": f"https://example.org/{m('location schedule link')}",
            }
        ],
        "attributes": [
            {
                "id": _id("refuge", "loc-attr"),
                "value": m("location attribute value"),
                "label": m("location attribute label"),
                "taxonomy_term": _term("ZQ-1", "Building type"),
            }
        ],
    }
    return {
        "id": _id("refuge"),
        "name": ALLOWED["service name"],
        "status": "active",
        "alternate_name": m("service alternate name"),
        "description": m("service description"),
        "url": f"https://example.org/{m('service url')}",
        "email": f"{m('service email')}@example.org",
        "interpretation_services": m("service interpretation services"),
        "application_process": m("service application process"),
        "fees_description": m("service fees description"),
        "wait_time": m("service wait time"),
        "fees": m("service fees"),
        "accreditations": m("service accreditations"),
        "licenses": m("service licenses"),
        "alert": m("service alert"),
        "assurer_email": f"{m('service assurer email')}@example.org",
        "eligibility_description": ALLOWED["eligibility"],
        "minimum_age": 16,
        "assured_date": "2026-10-01",
        "organization": {
            "id": _id("refuge", "org"),
            "name": ALLOWED["organization name"],
            "alternate_name": m("organization alternate name"),
            "description": m("organization description"),
            "email": f"{m('organization email')}@example.org",
            "website": f"https://example.org/{m('organization website')}",
            "tax_status": m("organization tax status"),
            "tax_id": m("organization tax id"),
            "legal_status": m("organization legal status"),
            "logo": f"https://example.org/{m('organization logo')}.png",
            "uri": f"https://example.org/{m('organization uri')}",
        },
        "phones": [
            {
                "id": _id("refuge", "phone"),
                "number": ALLOWED["phone"],
                "type": "voice",
                "description": m("service phone description"),
                "languages": [
                    {
                        "id": _id("refuge", "phone-lang"),
                        "name": "English",
                        "code": "en",
                        "note": m("phone language note"),
                    }
                ],
            }
        ],
        "schedules": [
            {
                "id": _id("refuge", "sched"),
                "freq": "WEEKLY",
                "byday": "MO,TU,WE,TH,FR",
                "opens_at": "09:00",
                "closes_at": "17:00",
                "description": m("service schedule description"),
                "notes": m("service schedule notes"),
                "schedule_link": f"https://example.org/{m('service schedule link')}",
            }
        ],
        "languages": [
            {"id": _id("refuge", "lang"), "name": ALLOWED["language"], "code": "fr", "note": m("service language note")}
        ],
        "service_areas": [
            {
                "id": _id("refuge", "area"),
                "name": m("service area name"),
                "description": m("service area description"),
                "extent_type": "geojson",
                "uri": f"https://example.org/{m('service area uri')}",
                "extent": json.dumps(
                    {
                        "type": "Feature",
                        "properties": {"name": m("service area extent")},
                        "geometry": {"type": "Point", "coordinates": [SECRET_LON, SECRET_LAT]},
                    }
                ),
            }
        ],
        "capacities": [
            {
                "id": _id("refuge", "cap"),
                "available": 3,
                "maximum": 12,
                "updated": "2026-11-24T22:00:00-05:00",
                "description": m("capacity description"),
                "unit": {"id": _id("refuge", "unit"), "name": "beds", "uri": f"https://example.org/{m('unit uri')}"},
            }
        ],
        "attributes": [
            {
                "id": _id("refuge", "attr"),
                "value": m("service attribute value"),
                "label": m("service attribute label"),
                "taxonomy_term": _term("BH-1800.8500", "Domestic Violence Shelters"),
            }
        ],
        "service_at_locations": [
            {
                "id": _id("refuge", "sal"),
                "description": m("service at location description"),
                "location": location,
                "phones": [
                    {
                        "id": _id("refuge", "sal-phone"),
                        "number": "416-555-0177",
                        "description": m("sal phone description"),
                    }
                ],
                "schedules": [
                    {
                        "id": _id("refuge", "sal-sched"),
                        "freq": "WEEKLY",
                        "byday": "SU",
                        "opens_at": "13:00",
                        "closes_at": "15:00",
                        "notes": m("sal schedule notes"),
                        "description": m("sal schedule description"),
                    }
                ],
            }
        ],
    }


def public_service() -> dict:
    return {
        "id": _id("maple"),
        "name": "Maple Drop-in",
        "status": "active",
        "description": "Coffee and a warm room.",
        "url": "https://example.org/maple",
        "attributes": [
            {
                "id": _id("maple", "attr"),
                "taxonomy_term": {"id": _id("term", "BH-1800.1500"), "code": "BH-1800.1500", "name": "Drop-in Centres"},
            }
        ],
        "phones": [{"id": _id("maple", "phone"), "number": "416-555-0111"}],
        "service_at_locations": [
            {
                "id": _id("maple", "sal"),
                "location": {
                    "id": _id("maple", "loc"),
                    "location_type": "physical",
                    "name": PUBLIC_TEXT[0],
                    "latitude": PUBLIC_LAT,
                    "longitude": PUBLIC_LON,
                    "addresses": [
                        {
                            "id": _id("maple", "addr"),
                            "address_1": PUBLIC_TEXT[1],
                            "city": "Toronto",
                            "state_province": "ON",
                            "postal_code": "M5V 1A1",
                            "country": "CA",
                        }
                    ],
                    "accessibility": [{"id": _id("maple", "acc"), "description": PUBLIC_TEXT[2]}],
                },
            }
        ],
    }


# A service with a public and a confidential site: the public site shows where it is, the
# service's own text is withheld at both (it could be about the confidential one).
MIXED_PUBLIC_TEXT = ("Two Roofs Day Office", "55 Birch Ave")


def mixed_service() -> dict:
    return {
        "id": _id("mixed"),
        "name": "Two Roofs Outreach",
        "status": "active",
        "alternate_name": m("mixed service alternate name"),
        "description": m("mixed service description"),
        "url": f"https://example.org/{m('mixed service url')}",
        "email": f"{m('mixed service email')}@example.org",
        "phones": [
            {"id": _id("mixed", "phone"), "number": "416-555-0122", "description": m("mixed phone description")}
        ],
        "attributes": [
            {
                "id": _id("mixed", "attr"),
                "taxonomy_term": {
                    "id": _id("mixed", "term"),
                    "code": "BH-1800.8500",
                    "name": "Domestic Violence Shelters",
                },
            }
        ],
        "service_at_locations": [
            {
                "id": _id("mixed", "sal-public"),
                "location": {
                    "id": _id("mixed", "loc-public"),
                    "location_type": "physical",
                    "name": MIXED_PUBLIC_TEXT[0],
                    "latitude": PUBLIC_LAT + 0.001,
                    "longitude": PUBLIC_LON,
                    "addresses": [
                        {"id": _id("mixed", "addr-public"), "address_1": MIXED_PUBLIC_TEXT[1], "city": "Toronto"}
                    ],
                },
            },
            {
                "id": _id("mixed", "sal-private"),
                "location": {
                    "id": _id("mixed", "loc-private"),
                    "location_type": "physical",
                    "address_private": True,
                    "name": m("mixed location name"),
                    "description": m("mixed location description"),
                    "latitude": SECRET_LAT,
                    "longitude": SECRET_LON,
                    "addresses": [{"id": _id("mixed", "addr-private"), "address_1": m("mixed address one")}],
                    "accessibility": [{"id": _id("mixed", "acc-private"), "details": m("mixed accessibility details")}],
                },
            },
        ],
    }


DATA = [confidential_service(), public_service(), mixed_service()]


@pytest.fixture(scope="module")
def server(pg_server, template_db: str, tmp_path_factory) -> Iterator[LiveServer]:
    name = f"fieldnav_conf_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_database(name, template=template_db)
    folder = tmp_path_factory.mktemp("confidential")
    path = folder / "data.json"
    path.write_text(json.dumps(DATA))
    engine = create_engine(url)
    try:
        report = import_path(engine, path, source=SOURCE, strict=True)
    finally:
        engine.dispose()
    assert report.counts["service"] == 3
    live = start_server(
        url, env={"FIELDNAV_PACKS_DIR": str(folder / "packs"), "FIELDNAV_LIMIT_EXPENSIVE_PER_MIN": "1000000"}
    )
    yield live
    stop_server(live)
    pg_server.drop_database(name)


def leaks(body: bytes) -> list[str]:
    """What of the confidential site's withheld text ``body`` holds."""
    text = body.decode("utf-8", errors="replace").lower()
    found = [field for field, marker in MARKERS.items() if marker in text]
    found += ["street (elm st)"] if "elm st" in text else []
    return found + [f"position ({part})" for part in SECRET_POSITION if part in text]


def _get(client, path: str, **kwargs) -> bytes:
    response = client.get(path, **kwargs)
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:500]}"
    return response.content


def test_the_markers_cover_every_free_text_field():
    assert len(MARKERS) >= 70 and len(set(MARKERS.values())) == len(MARKERS)


def test_no_output_path_shows_a_confidential_sites_free_text(server):
    refuge, maple = _id("refuge"), _id("maple")
    near = {"lat": HERE[0], "lon": HERE[1], "limit": 50}
    with server.client() as client:
        bodies: dict[str, bytes] = {
            "detail": _get(client, f"/v1/services/{refuge}"),
            "search by name": _get(client, "/v1/services", params={"q": "Harbour Refuge"}),
            "search by name, near": _get(
                client, "/v1/services", params={"q": "Harbour Refuge", "near": f"{HERE[0]},{HERE[1]}"}
            ),
            "search by name, GeoJSON": _get(
                client, "/v1/services", params={"q": "Harbour Refuge"}, headers={"Accept": "application/geo+json"}
            ),
            "search, everything": _get(client, "/v1/services", params={"per_page": 100}),
            "nearest": _get(client, "/v1/services/nearest", params=near),
            "nearest, GeoJSON": _get(
                client, "/v1/services/nearest", params=near, headers={"Accept": "application/geo+json"}
            ),
            "categories": _get(client, "/v1/categories"),
            "tiles.json": _get(client, "/v1/tiles.json"),
        }
        # A search for a withheld word finds nothing: an answer would tell that the word is there.
        found_by = [
            field
            for field, marker in MARKERS.items()
            if client.get("/v1/services", params={"q": marker}).json()["total_items"]
        ]
        by_name = client.get("/v1/services", params={"q": "Harbour Refuge"}).json()
        past = client.get("/v1/services", params={"q": "Harbour Refuge", "page": 50}).json()  # counted on its own
        assert by_name["total_items"] == past["total_items"] == 1 and past["empty"]

        sync, cursor = [], None
        while True:
            page = client.get("/v1/sync/services", params={"cursor": cursor} if cursor else {})
            assert page.status_code == 200, page.text
            sync.append(page.content)
            cursor = page.json()["next_cursor"]
            if not page.json()["has_more"]:
                break
        bodies["sync"] = b"".join(sync)

        created = client.post("/v1/offline/packs", json={"bbox": BBOX, "min_zoom": 10, "max_zoom": 16})
        assert created.status_code == 201, created.text
        pack = created.json()
        bodies["pack manifest"] = created.content
        bodies["pack services.json"] = _get(client, pack["urls"]["services"])
        archive = _get(client, pack["urls"]["archive"])
        tiles = [gzip.decompress(data) for _, data in all_tiles(MemorySource(archive))]
        assert tiles
        bodies["pack tiles"] = b"".join(tiles)
        bodies["pack tiles, decoded"] = json.dumps([mapbox_vector_tile.decode(t) for t in tiles], default=str).encode()
        endpoint = [client.get(f"/v1/tiles/{z}/{x}/{y}.mvt") for z, x, y in tiles_covering(tuple(BBOX), range(10, 17))]
        served = [r.content for r in endpoint if r.status_code == 200]
        assert served
        bodies["tiles"] = b"".join(served)
        bodies["tiles, decoded"] = json.dumps([mapbox_vector_tile.decode(t) for t in served], default=str).encode()
        public_detail = _get(client, f"/v1/services/{maple}")

    leaked = {what: found for what, body in bodies.items() if (found := leaks(body))}
    assert not leaked, "withheld text of the confidential site comes out:\n" + "\n".join(
        f"  {what}: {', '.join(found)}" for what, found in leaked.items()
    )
    assert not found_by, f"a search finds the confidential service by its {', '.join(found_by)}"

    # The allowed fields still show wherever the site is listed...
    for what in ("detail", "search by name", "nearest", "nearest, GeoJSON", "sync", "pack services.json"):
        text = bodies[what].decode()
        for field, value in ALLOWED.items():
            assert value in text, f"{what} lost the confidential site's {field}"
    for what in ("search by name", "nearest", "sync", "pack services.json"):
        assert "call to connect" in bodies[what].decode() or "call_to_connect" in bodies[what].decode()
    # ... and the public site keeps its own text.
    for what in ("nearest", "nearest, GeoJSON", "search, everything", "sync", "pack services.json"):
        text = bodies[what].decode()
        assert all(part in text for part in PUBLIC_TEXT), f"{what} lost the public site's text"
    assert all(part in public_detail.decode() for part in PUBLIC_TEXT)
    assert "Maple Drop-in" in bodies["tiles, decoded"].decode()  # the public site is on the map, with its name


def test_the_confidential_detail_keeps_its_shape(server):
    with server.client() as client:
        detail = client.get(f"/v1/services/{_id('refuge')}").json()
    assert detail["name"] == ALLOWED["service name"] and detail["organization"]["name"] == ALLOWED["organization name"]
    assert [p["number"] for p in detail["phones"]] == [ALLOWED["phone"]]
    assert [(s["byday"], s["opens_at"], s["closes_at"]) for s in detail["schedules"]] == [
        ("MO,TU,WE,TH,FR", "09:00:00", "17:00:00")
    ]
    assert detail["eligibility_description"] == ALLOWED["eligibility"] and detail["minimum_age"] == 16
    assert detail["capacities"][0]["available"] == 3 and detail["capacities"][0]["unit"]["name"] == "beds"
    assert detail["service_areas"] == []
    (sal,) = detail["service_at_locations"]
    location = sal["location"]
    assert location["address_private"] is True and location["addresses"] == [] and location["accessibility"] == []
    assert "latitude" not in location and "longitude" not in location
    assert [p["number"] for p in location["phones"]] == ["416-555-0188"] and [p["number"] for p in sal["phones"]] == [
        "416-555-0177"
    ]


def test_a_service_with_a_public_and_a_confidential_site(server):
    """Its public site shows its place; its own text and its confidential site's do not."""
    with server.client() as client:
        nearest = client.get("/v1/services/nearest", params={"lat": HERE[0], "lon": HERE[1], "limit": 50}).json()[
            "results"
        ]
        detail = client.get(f"/v1/services/{_id('mixed')}").json()
        by_name = client.get("/v1/services", params={"q": "Two Roofs"}).json()
    sites = {r["location_id"]: r for r in nearest if r["service_id"] == _id("mixed")}
    public, private = sites[_id("mixed", "loc-public")], sites[_id("mixed", "loc-private")]
    assert public["location_name"] == MIXED_PUBLIC_TEXT[0] and public["address"]["address_1"] == MIXED_PUBLIC_TEXT[1]
    assert public["lat"] is not None and public["access"] != "call_to_connect" and not public["confidential"]
    assert private["confidential"] and private["location_name"] is None and private["access"] == "call_to_connect"
    for site in (public, private):
        assert site["url"] is None and site["email"] is None and site["alternate_name"] is None
        assert [(p["number"], p["description"]) for p in site["phones"]] == [("416-555-0122", None)]
    assert by_name["total_items"] == 2
    locations = {sal["location_id"]: sal["location"] for sal in detail["service_at_locations"]}
    assert locations[_id("mixed", "loc-public")]["name"] == MIXED_PUBLIC_TEXT[0]
    assert locations[_id("mixed", "loc-public")]["addresses"][0]["address_1"] == MIXED_PUBLIC_TEXT[1]
    assert (
        "name" not in locations[_id("mixed", "loc-private")]
        and locations[_id("mixed", "loc-private")]["addresses"] == []
    )
    assert "description" not in detail and "url" not in detail


def test_a_filter_does_not_tell_a_confidential_sites_withheld_text(server):
    """The refuge's accessibility text says "Wheelchair ramp": the `accessible` filter must not
    answer for it, or asking with and without the filter would tell what is withheld."""
    with server.client() as client:
        params = {"lat": HERE[0], "lon": HERE[1], "limit": 50}
        everyone = client.get("/v1/services/nearest", params=params).json()["results"]
        accessible = client.get("/v1/services/nearest", params={**params, "accessible": "true"}).json()["results"]
    assert _id("refuge") in {r["service_id"] for r in everyone}
    assert _id("refuge") not in {r["service_id"] for r in accessible}


def test_migration_0012_withholds_what_stored_cards_carried(database_url, tmp_path):
    """Cards stored by older code carried the text; the migration fixes them in its own
    transaction (no rebuild needed), and tells phones and packs."""
    from alembic import command
    from sqlalchemy import text

    from service.platform import migrate

    path = tmp_path / "data.json"
    path.write_text(json.dumps(DATA))
    engine = create_engine(database_url)
    try:
        import_path(engine, path, source=SOURCE)
        with engine.begin() as connection:
            built = dict(connection.execute(text("SELECT id, card FROM service_site")).all())
            version = connection.execute(text("SELECT version FROM data_version")).scalar_one()
        migrate.downgrade(database_url, "0011_handoff_reference")
        with engine.begin() as connection:
            # As the code before service/directory/confidential.py stored them.
            connection.execute(
                text("""
                UPDATE service_site SET card = card || jsonb_build_object(
                    'alternate_name', 'zqold alternate', 'url', 'https://example.org/zqold', 'email', 'zqold@example.org',
                    'phones', (SELECT jsonb_agg(p || '{"description": "zqold phone"}'::jsonb) FROM jsonb_array_elements(card -> 'phones') p))
                WHERE service_id IN (SELECT service_id FROM service_site WHERE is_private)""")
            )
            connection.execute(
                text("""
                UPDATE service_site SET card = card || '{"accessibility": ["side door on Elm St zqold"]}'::jsonb WHERE is_private""")
            )
            connection.execute(
                text("""
                INSERT INTO offline_pack (id, request_key, data_version, request, tile_count, archive_bytes, archive_sha256,
                                          service_count, snapshot_bytes, snapshot_sha256)
                VALUES (gen_random_uuid(), 'k', :version, '{}', 1, 1, 'x', 1, 1, 'x')"""),
                {"version": version},
            )
            seq = connection.execute(text("SELECT max(seq) FROM change_log")).scalar_one()
        command.upgrade(migrate.alembic_config(database_url), "head")  # the migration alone, no rebuild
        with engine.connect() as connection:
            assert dict(connection.execute(text("SELECT id, card FROM service_site")).all()) == built
            assert connection.execute(text("SELECT version FROM data_version")).scalar_one() == version + 1
            logged = connection.execute(
                text("SELECT service_id::text, op, version FROM change_log WHERE seq > :seq ORDER BY 1"), {"seq": seq}
            ).all()
            assert logged == sorted([(_id("mixed"), "upsert", version + 1), (_id("refuge"), "upsert", version + 1)])
            assert connection.execute(text("SELECT count(*) FROM offline_pack")).scalar_one() == 0
    finally:
        engine.dispose()
