"""GET /v1/places on a real PostGIS: the gazetteer built from the directory's public
addresses, the shipped places (GeoNames, fieldnav's Ontario list), the ranking, postal codes,
confidential addresses, bad input over real HTTP, and idempotent loads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from service.places import gazetteer, packaged, table
from service.places.normal import normal
from service.places.search import search
from tests.support.hsds_services import import_services
from tests.support.places import PEMBROKE, addressed_service
from tests.support.servers import LiveServer, start_server, stop_server

SOURCE = "places-test"
SECRET = ("Safe Harbour Shelter", 45.83110, -77.12345)  # a confidential site: never a place

PUBLIC = [
    addressed_service(
        "Pembroke Food Bank", 45.82620, -77.11030, address_1="12 King St W", city="Pembroke", postal_code="K8A 1A1"
    ),
    addressed_service(
        "Pembroke Drop-in", 45.82000, -77.10000, address_1="250 Pembroke St E", city="Pembroke", postal_code="k8a1b2"
    ),
]
CONFIDENTIAL = addressed_service(
    SECRET[0],
    SECRET[1],
    SECRET[2],
    address_1="77 Hidden Harbour Lane",
    city="Quietbrook",
    postal_code="K8A 9Z9",
    private=True,
)


@pytest.fixture(scope="module")
def places_database_url(pg_server, template_db, tmp_path_factory) -> Iterator[str]:
    name = f"fieldnav_places_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_database(name, template=template_db)
    import_services(url, tmp_path_factory.mktemp("places"), SOURCE, [*PUBLIC, CONFIDENTIAL])
    yield url
    pg_server.drop_database(name)


@pytest.fixture(scope="module")
def places_server(places_database_url: str) -> Iterator[LiveServer]:
    server = start_server(places_database_url)
    yield server
    stop_server(server)


def _get(server: LiveServer, q: str, **params) -> list[dict]:
    with server.client() as client:
        response = client.get("/v1/places", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_town_from_geonames_is_found(places_server: LiveServer) -> None:
    results = _get(places_server, "Pembroke")
    first = results[0]
    assert first["kind"] == "city" and first["label"] == "Pembroke, ON" and first["name"] == "Pembroke"
    assert first["source"] in ("geonames", "fieldnav")
    assert abs(first["lat"] - PEMBROKE[0]) < 0.05 and abs(first["lon"] - PEMBROKE[1]) < 0.05
    # The directory's own "Pembroke" (its addresses' centroid) is the same place: listed once.
    assert [r["label"] for r in results].count("Pembroke, ON") == 1
    assert {"lat", "lon", "label", "kind", "source", "name"} == set(first)


def test_french_names_match_without_accents(places_server: LiveServer) -> None:
    for q in ("Trois-Rivières", "trois rivieres", "TROIS RIVIERES"):
        assert _get(places_server, q, limit=1)[0]["label"] == "Trois-Rivières, QC"


def test_postal_codes_full_and_prefix_any_case_and_spacing(places_server: LiveServer) -> None:
    for q in ("K8A 1A1", "k8a1a1", " k8a  1a1 "):
        first = _get(places_server, q)[0]
        assert first["kind"] == "postal_code" and first["label"] == "K8A 1A1, Pembroke"
        assert (first["lat"], first["lon"]) == (45.8262, -77.1103)
        assert first["source"] == "directory"
    prefix = _get(places_server, "k8a")
    assert prefix[0]["kind"] == "postal_prefix" and prefix[0]["label"] == "K8A"
    # The centroid of the public addresses alone: the confidential K8A 9Z9 does not pull it.
    assert (prefix[0]["lat"], prefix[0]["lon"]) == (45.8231, -77.10515)
    # Then the postal codes that start with it.
    assert {r["label"] for r in prefix[1:3]} == {"K8A 1A1, Pembroke", "K8A 1B2, Pembroke"}


def test_a_street_address_from_the_directory(places_server: LiveServer) -> None:
    first = _get(places_server, "12 King St W")[0]
    assert first == {
        "name": "12 King St W",
        "label": "12 King St W, Pembroke",
        "kind": "address",
        "lat": 45.8262,
        "lon": -77.1103,
        "source": "directory",
    }


def test_a_confidential_address_is_never_a_place(places_server: LiveServer, places_database_url: str) -> None:
    for q in ("77 Hidden Harbour Lane", "Hidden Harbour", "Quietbrook", "K8A 9Z9", "k8a9z9", "K8A", "Safe Harbour"):
        for place in _get(places_server, q, limit=50):
            assert "hidden harbour" not in place["label"].lower(), place
            assert "quietbrook" not in place["label"].lower(), place
            assert "9Z9" not in place["label"], place
            assert (place["lat"], place["lon"]) != (SECRET[1], SECRET[2]), place
    engine = create_engine(places_database_url)
    try:
        with engine.connect() as connection:
            leaked = connection.execute(
                text(
                    "SELECT count(*) FROM place WHERE origin = 'directory' AND (key LIKE '%hidden%' OR key LIKE '%quietbrook%' OR key = 'k8a 9z9')"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    assert leaked == 0


def test_ranking_exact_then_prefix_else_similar_ties_by_weight(engine) -> None:
    rows = [
        table.PlaceRow("city", "Zorbaville", "zorbaville", "Zorbaville, ON", 45.0, -77.0, 100),
        # The same name far away and larger: first among the exact matches.
        table.PlaceRow("city", "Zorbaville", "zorbaville", "Zorbaville, BC", 50.0, -120.0, 5000),
        # Starts with the query, and far larger: still after every exact match.
        table.PlaceRow("city", "Zorbaville Heights", "zorbaville heights", "Zorbaville Heights, ON", 45.1, -77.1, 1e6),
        table.PlaceRow("city", "Zorbaville Mills", "zorbaville mills", "Zorbaville Mills, ON", 45.2, -77.2, 10),
        # Only similar (a typo away): not listed while better matches exist, however large.
        table.PlaceRow("city", "Zorbavile", "zorbavile", "Zorbavile, ON", 45.3, -77.3, 1e7),
    ]
    with engine.begin() as connection:
        table.replace(connection, table.DIRECTORY, rows, import_source="ranking")
        found = search(connection, normal("ZORBAVILLE"), 10)
        assert [p.label for p in found] == [
            "Zorbaville, BC",
            "Zorbaville, ON",
            "Zorbaville Heights, ON",
            "Zorbaville Mills, ON",
        ]
        # Nothing exact or by prefix: similar names, the most similar first, however small.
        assert [p.label for p in search(connection, normal("zorbavillle"), 3)] == [
            "Zorbaville, BC",
            "Zorbaville, ON",
            "Zorbavile, ON",
        ]
        assert search(connection, normal("!!!"), 5) == []


def test_loads_and_rebuilds_are_idempotent(engine, tmp_path, database_url: str) -> None:
    def snapshot() -> list[tuple]:
        with engine.connect() as connection:
            return [
                tuple(row)
                for row in connection.execute(
                    text(
                        "SELECT origin, import_source, kind, key, label, lat, lon, weight FROM place ORDER BY 1, 2, 3, 4, 5"
                    )
                )
            ]

    shipped = snapshot()  # migration 0020 loaded the shipped lists
    assert sum(1 for row in shipped if row[0] == "geonames") > 3000
    fieldnav_count = sum(1 for row in shipped if row[0] == "fieldnav")
    assert fieldnav_count == len(packaged.fieldnav_places()) > 150
    with engine.begin() as connection:
        loaded = packaged.load(connection)
    assert loaded == {"geonames": sum(1 for r in shipped if r[0] == "geonames"), "fieldnav": fieldnav_count}
    assert snapshot() == shipped
    import_services(database_url, tmp_path, SOURCE, PUBLIC)
    once = snapshot()
    import_services(database_url, tmp_path, SOURCE, PUBLIC)
    with engine.begin() as connection:
        gazetteer.rebuild(connection, SOURCE)
    assert snapshot() == once
    # A re-import without an address takes its places away with it.
    import_services(database_url, tmp_path, SOURCE, PUBLIC[:1])
    labels = {row[4] for row in snapshot() if row[0] == "directory"}
    assert "12 King St W, Pembroke" in labels and "250 Pembroke St E, Pembroke" not in labels


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "query.q"),
        ({"q": ""}, "query.q"),
        ({"q": "   "}, "query.q"),
        ({"q": "\t \n"}, "query.q"),
        ({"q": "x" * 201}, "query.q"),
        ({"q": "x" * 10_000}, "query.q"),
        ({"q": "Pembroke", "limit": "0"}, "query.limit"),
        ({"q": "Pembroke", "limit": "51"}, "query.limit"),
        ({"q": "Pembroke", "limit": "ten"}, "query.limit"),
    ],
)
def test_bad_input_is_a_clear_422(places_server: LiveServer, params: dict, field: str) -> None:
    with places_server.client() as client:
        response = client.get("/v1/places", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"].endswith("/validation-error")
    assert [e["field"] for e in problem["errors"]] == [field]


def test_a_blank_query_is_refused_in_french_too(places_server: LiveServer) -> None:
    with places_server.client() as client:
        response = client.get("/v1/places", params={"q": "  "}, headers={"Accept-Language": "fr-CA"})
    assert response.status_code == 422
    assert "pas seulement des espaces" in response.json()["errors"][0]["message"]


def test_odd_text_never_fails(places_server: LiveServer) -> None:
    for q in ("%", "_", "'; DROP TABLE place; --", "\\", "k8a%", "🙂", "a"):
        _get(places_server, q)


def test_a_pull_builds_the_places_of_its_addresses_too(engine) -> None:
    """Pulls import chunk by chunk (service/importer/chunked.py): the gazetteer is rebuilt there too."""
    from service.importer.pull import pull
    from service.platform.settings import PullSettings
    from tests.support.hsds_remote import RemoteDirectory, serve_remote

    settings = PullSettings(
        page_size=2, chunk_services=2, timeout_s=5, max_attempts=3, backoff_base_s=0.01, backoff_max_s=2
    )
    with serve_remote(RemoteDirectory([*PUBLIC, CONFIDENTIAL])) as remote:
        report = pull(engine, remote.base_url, source="pulled", settings=settings)
    assert report.imported is not None
    with engine.connect() as connection:
        found = search(connection, normal("12 King St W"), 5)
        assert [(p.label, p.source) for p in found] == [("12 King St W, Pembroke", "directory")]
        assert all(p.source != "directory" for p in search(connection, normal("77 Hidden Harbour Lane"), 50))
        assert (
            connection.execute(
                text("SELECT count(*) FROM place WHERE import_source = 'pulled' AND key IN ('quietbrook', 'k8a 9z9')")
            ).scalar_one()
            == 0
        )
