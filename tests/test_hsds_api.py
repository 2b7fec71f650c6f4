"""The HSDS 3.0 API under /hsds, over real HTTP to `fieldnav serve` on a real PostGIS.

Every answer is checked as the client gets it (json.loads of the raw bytes, nothing removed)
against Open Referral's official schemas (tests/data/hsds-3.0/schema): the detail schemas for
one object, the openapi.json's Page response (with the list schemas for its contents) for a
page, and the list schemas for each ndjson line. The schemas' `$ref`s are their published
URLs; a `referencing` registry resolves them to the files here, never over the network.
Every parameter is checked against the database; confidential sites never show a position."""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import create_engine, text

from service.importer import import_path
from tests.support.servers import start_server, stop_server

DATA = Path(__file__).resolve().parent / "data"  # tests/data/README.md
SCHEMA_DIR = DATA / "hsds-3.0" / "schema"
PUBLISHED = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"
MIAMI_ZIP = DATA / "hsds-miami-2019" / "open211-miami-hsds1.zip"
EXAMPLES = DATA / "hsds-3.0" / "examples"
PAGE_KEYS = {"total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty", "contents"}


def _registry() -> Registry:
    resources = [
        (
            PUBLISHED + path.relative_to(SCHEMA_DIR).as_posix(),
            Resource.from_contents(json.loads(path.read_text()), DRAFT202012),
        )
        for path in SCHEMA_DIR.rglob("*.json")
    ]
    return Registry().with_resources(resources)  # no `retrieve`: an unknown $ref fails, offline


REGISTRY = _registry()


def _validator(ref: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({"$ref": ref}, registry=REGISTRY)


def _page_schema(path: str) -> str:
    """The openapi.json's own response schema of ``path``: the Page, its contents' items by the
    published list schema."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return f"{PUBLISHED}openapi.json#/paths/{pointer}/get/responses/200/content/application~1json/schema"


# The HSDS list path -> (the schema of one of its items, the detail path and schema).
LISTS = {
    "/services": ("compiled/service_list.json", "/services/{id}", "compiled/service.json"),
    "/organizations": ("compiled/organization_list.json", "/organizations/{id}", "compiled/organization.json"),
    "/taxonomies": ("taxonomy.json", "/taxonomies/{id}", "taxonomy.json"),
    "/taxonomy_terms": ("taxonomy_term.json", "/taxonomy_terms/{id}", "taxonomy_term.json"),
    # HSDS 3.0's openapi.json names compiled/service.json for /service_at_locations/{id}, which a
    # service_at_location cannot be (no name, no status): the compiled service_at_location schema is meant.
    "/service_at_locations": (
        "compiled/service_at_location_list.json",
        "/service_at_locations/{id}",
        "compiled/service_at_location.json",
    ),
}


def _errors(validator: jsonschema.Draft202012Validator, value) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(value)][:5]


def _page(client, path: str, **params) -> dict:
    response = client.get("/hsds" + path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    page = json.loads(response.content)
    assert set(page) >= PAGE_KEYS, set(page)
    errors = _errors(_validator(_page_schema(path)), page)
    assert not errors, (path, params, errors)
    item_schema = _validator(PUBLISHED + LISTS[path][0])
    for item in page["contents"]:
        assert not _errors(item_schema, item), (path, params, _errors(item_schema, item))
    return page


def _detail(client, path: str, object_id, schema: str, **params) -> dict:
    response = client.get(f"/hsds{path.format(id=object_id)}", params=params)
    assert response.status_code == 200, response.text
    body = json.loads(response.content)
    errors = _errors(_validator(PUBLISHED + schema), body)
    assert not errors, (path, object_id, errors)
    return body


def _ndjson(client, path: str, **params) -> list[dict]:
    """Every line of an ndjson answer, read as it streams; each one object, valid."""
    item_schema = _validator(PUBLISHED + LISTS[path][0])
    items = []
    with client.stream("GET", "/hsds" + path, params={**params, "format": "ndjson"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        assert "content-length" not in response.headers  # streamed, not built whole
        for line in response.iter_lines():
            if not line:
                continue
            item = json.loads(line)
            assert isinstance(item, dict) and not _errors(item_schema, item), _errors(item_schema, item)
            items.append(item)
    return items


def _ids(items) -> list[str]:
    return [item["id"] for item in items]


def _all_pages(client, path: str, **params) -> list[dict]:
    items, page = [], 1
    while True:
        body = _page(client, path, page=page, per_page=100, **params)
        items += body["contents"]
        if body["last_page"]:
            return items
        page += 1


def _query(url: str, sql: str, **params) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql), params))
    finally:
        engine.dispose()


def _strs(rows) -> set[str]:
    return {str(row[0]) for row in rows}


# --- servers: the demo data, and the Miami export with the HSDS examples -----------------------


@pytest.fixture(scope="module")
def reference_database_url(pg_server, template_db) -> Iterator[str]:
    name = f"fieldnav_hsds_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_database(name, template=template_db)
    engine = create_engine(url)
    import_path(engine, MIAMI_ZIP, source="miami")
    # The examples share their ids (one organization, service, location...): the fullest one.
    import_path(engine, EXAMPLES / "service_full.json", source="example-service_full")
    engine.dispose()
    yield url
    pg_server.drop_database(name)


@pytest.fixture(scope="module")
def reference_server(reference_database_url) -> Iterator:
    server = start_server(reference_database_url)
    yield server
    stop_server(server)


@pytest.fixture(params=["demo", "reference"])
def served(request):
    """(server, database url) of the demo data, then of the Miami export and HSDS examples."""
    if request.param == "demo":
        return request.getfixturevalue("demo_server"), request.getfixturevalue("demo_database_url")
    return request.getfixturevalue("reference_server"), request.getfixturevalue("reference_database_url")


# --- every endpoint, as the official schemas say --------------------------------------------


def test_the_root_says_version_profile_and_openapi(demo_server):
    with demo_server.client() as client:
        body = client.get("/hsds/").json()
    assert body["version"] == "3.0" and body["profile"].startswith("https://")
    assert body["openapi_url"] == demo_server.base_url + "/openapi.json"


def test_every_list_and_detail_validates_against_the_official_schemas(served):
    server, _ = served
    with server.client(timeout=60) as client:
        for path, (_, detail_path, detail_schema) in LISTS.items():
            page = _page(client, path, per_page=20)
            assert page["contents"], f"{path}: no data to check"
            if path in ("/services", "/organizations", "/service_at_locations"):
                _page(client, path, per_page=10, full="true")
            if path == "/services":
                _page(client, path, per_page=10, minimal="true")
            if path == "/organizations":
                _page(client, path, per_page=5, full_service="true")
            for object_id in _ids(page["contents"])[:10]:
                _detail(client, detail_path, object_id, detail_schema)
                if path == "/organizations":
                    _detail(client, detail_path, object_id, detail_schema, full_service="true")


def test_detail_has_no_nulls_and_offsets_as_numbers(demo_server, demo_database_url):
    (service_id,) = _query(
        demo_database_url,
        "SELECT s.service_id FROM service_site s JOIN schedule h ON h.service_id = s.service_id LIMIT 1",
    )[0]
    with demo_server.client() as client:
        response = client.get(f"/hsds/services/{service_id}")
        v1 = client.get(f"/v1/services/{service_id}")
    assert b"null" not in response.content
    body = json.loads(response.content)
    assert body["schedules"] and all(isinstance(s["timezone"], int | float) for s in body["schedules"])
    assert {s["timezone_name"] for s in body["schedules"]} == {"America/Toronto"}
    # One serializer: the mobile API's detail is the same object (fieldnav's extras included).
    assert json.loads(v1.content) == body and "category_groups" in body and "open_reports" in body


# --- each parameter does what the standard says ---------------------------------------------


def test_services_filters_match_the_database(reference_server, reference_database_url):
    url = reference_database_url
    term_id, taxonomy_id = _query(
        url,
        "SELECT a.taxonomy_term_id, t.taxonomy_id FROM attribute a JOIN taxonomy_term t ON t.id = a.taxonomy_term_id "
        "JOIN service s ON s.id = a.link_id WHERE t.taxonomy_id IS NOT NULL GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1",
    )[0]
    (organization_id,) = _query(
        url,
        "SELECT organization_id FROM service WHERE organization_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1 "
        "ORDER BY count(*) DESC LIMIT 1",
    )[0]
    with reference_server.client(timeout=60) as client:
        by_term = _ids(_all_pages(client, "/services", taxonomy_term_id=term_id))
        assert set(by_term) == _strs(
            _query(url, "SELECT link_id FROM attribute WHERE taxonomy_term_id = :t", t=term_id)
        ) and len(by_term) == len(set(by_term))
        by_taxonomy = set(_ids(_all_pages(client, "/services", taxonomy_id=taxonomy_id)))
        assert by_taxonomy == _strs(
            _query(
                url,
                "SELECT a.link_id FROM attribute a JOIN taxonomy_term t ON t.id = a.taxonomy_term_id "
                "JOIN service s ON s.id = a.link_id WHERE t.taxonomy_id = :x",
                x=taxonomy_id,
            )
        )
        by_organization = set(_ids(_all_pages(client, "/services", organization_id=organization_id)))
        assert by_organization == _strs(
            _query(url, "SELECT id FROM service WHERE organization_id = :o", o=organization_id)
        )
        assert len(by_organization) > 1

        food = _ids(_all_pages(client, "/services", search="food"))
        expected = _strs(
            _query(
                url,
                "SELECT id FROM service WHERE search_vector @@ "
                "(websearch_to_tsquery('english', 'food') || websearch_to_tsquery('french', 'food'))",
            )
        )
        assert food and set(food) == expected
        assert _page(client, "/services", search="zzzqqqxxy")["empty"]

        # The same service filters select service_at_locations, by their service.
        for params, sql in (
            (
                {"taxonomy_term_id": term_id},
                "EXISTS (SELECT 1 FROM attribute a WHERE a.link_id = s.id AND a.taxonomy_term_id = :t)",
            ),
            ({"organization_id": organization_id}, "s.organization_id = :o"),
        ):
            sites = _all_pages(client, "/service_at_locations", **params)
            expected_sites = _strs(
                _query(
                    url,
                    f"SELECT sal.id FROM service_at_location sal JOIN service s ON s.id = sal.service_id WHERE {sql}",
                    o=organization_id,
                    t=term_id,
                )
            )
            assert sites and {s["id"] for s in sites} == expected_sites, params
        food_sites = _all_pages(client, "/service_at_locations", search="food")
        assert food_sites and {s["service_id"] for s in food_sites} == expected

        minimal = _page(client, "/services", minimal="true", per_page=5)["contents"]
        assert all(set(item) <= {"id", "name", "status", "last_modified"} for item in minimal)
        full = _page(client, "/services", full="true", per_page=5)["contents"]
        assert all("service_at_locations" in item and "phones" in item for item in full)
        listed = _page(client, "/services", per_page=5)["contents"]
        assert all("service_at_locations" not in item for item in listed)


def test_modified_after_reads_the_change_log(reference_server, reference_database_url):
    url = reference_database_url
    (changed_at,) = _query(url, "SELECT max(changed_at) FROM change_log WHERE source = 'example-service_full'")[0]
    with reference_server.client(timeout=60) as client:
        recent = set(_ids(_all_pages(client, "/services", modified_after=changed_at.isoformat())))
        assert (
            recent == _strs(_query(url, "SELECT service_id FROM change_log WHERE changed_at >= :t", t=changed_at))
            and recent
        )
        later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        assert _page(client, "/services", modified_after=later)["empty"]
        sites = _all_pages(client, "/service_at_locations", modified_after=changed_at.isoformat())
        assert {s["service_id"] for s in sites} <= recent and sites
        # minimal's last_modified is the change log's time, which modified_after compares.
        for item in _page(client, "/services", minimal="true", modified_after=changed_at.isoformat())["contents"]:
            assert datetime.fromisoformat(item["last_modified"]) >= changed_at


def test_organizations_full_and_full_service(reference_server, reference_database_url):
    url = reference_database_url
    (organization_id,) = _query(
        url,
        "SELECT organization_id FROM service WHERE organization_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1 "
        "ORDER BY count(*) DESC LIMIT 1",
    )[0]
    expected = _strs(_query(url, "SELECT id FROM service WHERE organization_id = :o", o=organization_id))
    with reference_server.client(timeout=60) as client:
        simple = _detail(client, "/organizations/{id}", organization_id, "compiled/organization.json")
        assert set(_ids(simple["services"])) == expected
        assert all("service_at_locations" not in s for s in simple["services"])
        nested = _detail(
            client, "/organizations/{id}", organization_id, "compiled/organization.json", full_service="true"
        )
        assert set(_ids(nested["services"])) == expected
        assert all("service_at_locations" in s for s in nested["services"])
        named = _page(client, "/organizations", search=simple["name"][:12])["contents"]
        assert str(organization_id) in _ids(named)
        assert all("services" not in o for o in _page(client, "/organizations", per_page=5)["contents"])
        assert all("services" in o for o in _page(client, "/organizations", per_page=5, full="true")["contents"])


def test_taxonomy_term_parameters(reference_server, reference_database_url):
    url = reference_database_url
    (taxonomy_id,) = _query(url, "SELECT taxonomy_id FROM taxonomy_term WHERE taxonomy_id IS NOT NULL LIMIT 1")[0]
    with reference_server.client(timeout=60) as client:
        of_taxonomy = set(_ids(_all_pages(client, "/taxonomy_terms", taxonomy_id=taxonomy_id)))
        assert of_taxonomy == _strs(_query(url, "SELECT id FROM taxonomy_term WHERE taxonomy_id = :x", x=taxonomy_id))
        top = set(_ids(_all_pages(client, "/taxonomy_terms", top_only="true")))
        assert top == _strs(_query(url, "SELECT id FROM taxonomy_term WHERE parent_id IS NULL"))
        (parent_id,) = _query(url, "SELECT parent_id FROM taxonomy_term WHERE parent_id IS NOT NULL LIMIT 1")[0]
        children = set(_ids(_all_pages(client, "/taxonomy_terms", parent_id=parent_id)))
        assert children and children == _strs(
            _query(url, "SELECT id FROM taxonomy_term WHERE parent_id = :p", p=parent_id)
        )
        (name,) = _query(url, "SELECT name FROM taxonomy_term ORDER BY id LIMIT 1")[0]
        found = _all_pages(client, "/taxonomy_terms", search=name)
        assert found and all(name.lower() in (t["name"] + " " + t["description"]).lower() for t in found)
        taxonomies = _all_pages(client, "/taxonomies")
        assert set(_ids(taxonomies)) == _strs(_query(url, "SELECT id FROM taxonomy"))


def _postcode_of_public_sites(url: str) -> str:
    (postcode,) = _query(
        url,
        "SELECT upper(replace(a.postal_code, ' ', '')) FROM address a JOIN location l ON l.id = a.location_id "
        "JOIN service_at_location sal ON sal.location_id = l.id WHERE NOT l.address_private "
        "AND a.postal_code IS NOT NULL AND l.geom IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
    )[0]
    return postcode


def test_postcode_selects_the_sites_with_that_postcode(demo_server, demo_database_url):
    url = demo_database_url
    postcode = _postcode_of_public_sites(url)
    with demo_server.client(timeout=60) as client:
        sites = _all_pages(client, "/service_at_locations", postcode=postcode.lower())
    expected = _strs(
        _query(
            url,
            "SELECT sal.id FROM service_at_location sal JOIN location l ON l.id = sal.location_id "
            "JOIN address a ON a.location_id = l.id WHERE NOT l.address_private "
            "AND upper(replace(a.postal_code, ' ', '')) LIKE :p",
            p=postcode + "%",
        )
    )
    assert sites and set(_ids(sites)) == expected


def test_proximity_ranks_by_distance_and_confidential_sites_by_their_cell(demo_server, demo_database_url):
    url = demo_database_url
    prefix = _postcode_of_public_sites(url)[:3]  # a forward sortation area: a few km across
    proximity_m = 20_000
    rows = _query(
        url,
        """
        WITH centre AS (
            SELECT ST_Centroid(ST_Collect(l.geom))::geography AS g FROM location l JOIN address a ON a.location_id = l.id
            WHERE NOT l.address_private AND l.geom IS NOT NULL AND upper(replace(a.postal_code, ' ', '')) LIKE :p)
        SELECT sal.id, l.address_private,
               CASE WHEN l.address_private THEN ceil(ST_Distance(ss.coarse_geom::geography, centre.g) / 1000) * 1000
                    ELSE ST_Distance(l.geom::geography, centre.g) END AS distance_m
        FROM service_at_location sal JOIN location l ON l.id = sal.location_id
        LEFT JOIN service_site ss ON ss.service_id = sal.service_id AND ss.location_id = sal.location_id, centre
        """,
        p=prefix + "%",
    )
    within = {str(r.id): r for r in rows if r.distance_m is not None and r.distance_m <= proximity_m}
    with demo_server.client(timeout=60) as client:
        sites = _all_pages(client, "/service_at_locations", postcode=prefix, proximity=proximity_m)
    assert set(_ids(sites)) == set(within) and len(sites) > 1
    distances = [within[s["id"]].distance_m for s in sites]
    assert distances == sorted(distances)
    private = [s for s in sites if within[s["id"]].address_private]
    assert private, "no confidential site near enough to check its ranking"
    for site in private:
        assert not {"latitude", "longitude"} & set(site["location"])


# --- ndjson -------------------------------------------------------------------------------


def test_ndjson_streams_every_item_one_object_a_line(served):
    server, url = served
    counts = {
        "/services": "SELECT count(*) FROM service",
        "/organizations": "SELECT count(*) FROM organization",
        "/taxonomies": "SELECT count(*) FROM taxonomy",
        "/taxonomy_terms": "SELECT count(*) FROM taxonomy_term",
        "/service_at_locations": "SELECT count(*) FROM service_at_location",
    }
    with server.client(timeout=120) as client:
        for path, sql in counts.items():
            items = _ndjson(client, path)
            assert len(items) == _query(url, sql)[0][0] and len(set(_ids(items))) == len(items), path
        (organization_id,) = _query(
            url, "SELECT organization_id FROM service WHERE organization_id IS NOT NULL LIMIT 1"
        )[0]
        filtered = _ndjson(client, "/services", organization_id=organization_id, full="true")
        assert set(_ids(filtered)) == _strs(
            _query(url, "SELECT id FROM service WHERE organization_id = :o", o=organization_id)
        )
        assert all("service_at_locations" in s for s in filtered)


# --- confidential sites --------------------------------------------------------------------


def _private_points(url: str) -> tuple[set[str], set[str], set[float]]:
    """Ids of confidential locations and of their services, and their coordinates (5 decimals,
    leaving out any value a public site happens to share)."""
    rows = _query(
        url,
        "SELECT l.id, sal.service_id, l.latitude, l.longitude FROM location l "
        "JOIN service_at_location sal ON sal.location_id = l.id WHERE l.address_private",
    )
    public = {
        round(float(v), 5)
        for r in _query(url, "SELECT latitude, longitude FROM location WHERE NOT address_private")
        for v in r
        if v is not None
    }
    coordinates = {round(float(v), 5) for r in rows for v in (r.latitude, r.longitude) if v is not None}
    return {str(r.id) for r in rows}, {str(r.service_id) for r in rows}, coordinates - public


def _no_position(value, private_locations: set[str]) -> None:
    if isinstance(value, dict):
        if value.get("id") in private_locations or value.get("address_private") is True:
            assert not {"latitude", "longitude"} & set(value), value
            assert not value.get("addresses"), value
        for item in value.values():
            _no_position(item, private_locations)
    elif isinstance(value, list):
        for item in value:
            _no_position(item, private_locations)


def test_confidential_sites_never_show_a_position(demo_server, demo_database_url):
    locations, services, coordinates = _private_points(demo_database_url)
    assert locations and coordinates
    private_sites = _strs(
        _query(
            demo_database_url,
            "SELECT sal.id FROM service_at_location sal JOIN location l ON l.id = sal.location_id WHERE l.address_private",
        )
    )
    with demo_server.client(timeout=120) as client:
        answers = [
            client.get("/hsds/services", params={"format": "ndjson", "full": "true"}),
            client.get("/hsds/service_at_locations", params={"format": "ndjson", "full": "true"}),
            client.get("/hsds/service_at_locations", params={"format": "ndjson"}),
            client.get("/hsds/organizations", params={"format": "ndjson", "full_service": "true"}),
        ]
        answers += [client.get(f"/hsds/services/{i}") for i in sorted(services)[:10]]
        answers += [client.get(f"/hsds/service_at_locations/{i}") for i in sorted(private_sites)[:10]]
    for response in answers:
        assert response.status_code == 200
        for line in response.content.splitlines():
            _no_position(json.loads(line), locations)
        # Not a coordinate of a confidential site anywhere, whatever field it might hide in.
        numbers = {round(float(n), 5) for n in re.findall(r"-?\d+\.\d+", response.text)}
        assert not numbers & coordinates
    detail = json.loads(answers[4].content)
    assert detail["id"] in services and "description" not in detail  # its own text withheld, left out


# --- pagination edges ------------------------------------------------------------------------


def test_pagination_edges(demo_server, demo_database_url):
    (total,) = _query(demo_database_url, "SELECT count(*) FROM organization")[0]
    with demo_server.client(timeout=60) as client:
        first = _page(client, "/organizations", per_page=7)
        assert first["first_page"] and not first["last_page"] and first["size"] == 7 and first["page_number"] == 1
        assert first["total_items"] == total and first["total_pages"] == math.ceil(total / 7)
        last_number = first["total_pages"]
        last = _page(client, "/organizations", per_page=7, page=last_number)
        assert last["last_page"] and not last["first_page"] and last["size"] == total - 7 * (last_number - 1)
        past = _page(client, "/organizations", per_page=7, page=last_number + 1)
        assert past["empty"] and past["size"] == 0 and past["contents"] == [] and past["total_items"] == total
        everything = _all_pages(client, "/organizations")
        assert len(everything) == total == len(set(_ids(everything)))
        one = _page(client, "/organizations", per_page=100, page=1, search="zzzqqqxxy")
        assert one["empty"] and one["total_items"] == 0 and one["total_pages"] == 0 and one["first_page"]


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, params, code",
    [
        ("/services", {"page": 0}, "greater_than_equal"),
        ("/services", {"per_page": 101}, "less_than_equal"),
        ("/services", {"format": "xml"}, "literal_error"),
        ("/services", {"taxonomy_term_id": "not-a-uuid"}, "uuid_parsing"),
        ("/services", {"modified_after": "yesterday"}, None),
        ("/services", {"minimal": "maybe"}, "bool_parsing"),
        ("/taxonomy_terms", {"parent_id": "12"}, "uuid_parsing"),
        ("/service_at_locations", {"proximity": 5000}, "proximity_needs_postcode"),
        ("/service_at_locations", {"postcode": "!!", "proximity": 5000}, "postcode_invalid"),
        ("/service_at_locations", {"postcode": "ZZ9", "proximity": 5000}, "postcode_unknown"),
        ("/service_at_locations", {"postcode": "M5V", "proximity": -1}, "greater_than"),
        ("/service_at_locations", {"postcode": "M5V", "proximity": "far"}, "float_parsing"),
        ("/services/not-a-uuid", {}, "uuid_parsing"),
    ],
)
def test_bad_parameters_get_a_problem(demo_server, path, params, code):
    with demo_server.client() as client:
        response = client.get("/hsds" + path, params=params)
        french = client.get("/hsds" + path, params=params, headers={"Accept-Language": "fr"})
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/validation-error")
    if code is not None:
        assert code in {e["code"] for e in problem["errors"]}, problem
    assert french.headers["content-language"].startswith("fr")
    assert {e["message"] for e in french.json()["errors"]}.isdisjoint({e["message"] for e in problem["errors"]})


@pytest.mark.parametrize(
    "path", ["/services", "/organizations", "/taxonomies", "/taxonomy_terms", "/service_at_locations"]
)
def test_an_unknown_id_is_404(demo_server, path):
    with demo_server.client() as client:
        response = client.get(f"/hsds{path}/{uuid.uuid4()}")
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/not-found")


# --- proximity against a brute-force distance filter -------------------------------------------


def _busiest_prefix(url: str, length: int, not_starting: str = "") -> str:
    """The most common ``length``-character postcode prefix of public sites (not starting with ``not_starting``)."""
    (prefix,) = _query(
        url,
        "SELECT left(upper(replace(a.postal_code, ' ', '')), :n) FROM address a JOIN location l ON l.id = a.location_id "
        "WHERE NOT l.address_private AND a.postal_code IS NOT NULL AND l.geom IS NOT NULL "
        "AND left(upper(a.postal_code), 1) <> :other GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
        n=length,
        other=not_starting,
    )[0]
    return prefix


def _sites_within_brute_force(url: str, postcode: str, proximity_m: float) -> list:
    """(sal id, distance_m) of every site within ``proximity_m`` of the postcode's centre, by its
    distance from every site (no box, no index): a confidential one by its cell rounded up to a km."""
    return _query(
        url,
        """
        WITH centre AS (
            SELECT ST_Centroid(ST_Collect(l.geom))::geography AS g FROM location l JOIN address a ON a.location_id = l.id
            WHERE NOT l.address_private AND l.geom IS NOT NULL
              AND upper(translate(coalesce(a.postal_code, ''), ' -', '')) LIKE :p),
        distances AS (
            SELECT sal.id,
                   CASE WHEN l.address_private THEN ceil(ST_Distance(ss.coarse_geom::geography, centre.g) / 1000) * 1000
                        ELSE ST_Distance(l.geom::geography, centre.g) END AS distance_m
            FROM service_at_location sal JOIN location l ON l.id = sal.location_id
            LEFT JOIN service_site ss ON ss.service_id = sal.service_id AND ss.location_id = sal.location_id, centre)
        SELECT id, distance_m FROM distances WHERE distance_m <= :r ORDER BY distance_m, id
        """,
        p=postcode + "%",
        r=proximity_m,
    )


@pytest.mark.parametrize(("which", "proximity_m"), [("full", 1_000), ("full", 5_000), ("fsa", 2_500), ("far", 50_000)])
def test_proximity_equals_a_brute_force_distance_filter(demo_server, demo_database_url, which, proximity_m):
    # The API finds candidates through the spatial indexes: none may be lost, none added, same order.
    url = demo_database_url
    postcode = {
        "full": lambda: _postcode_of_public_sites(url),
        "fsa": lambda: _postcode_of_public_sites(url)[:3],
        "far": lambda: _busiest_prefix(url, 3, not_starting=_postcode_of_public_sites(url)[0]),
    }[which]()
    expected = _sites_within_brute_force(url, postcode, proximity_m)
    with demo_server.client(timeout=60) as client:
        sites = _all_pages(client, "/service_at_locations", postcode=postcode, proximity=proximity_m)
    assert expected, (postcode, proximity_m, "no site that near: the case checks nothing")
    assert _ids(sites) == [str(row.id) for row in expected]


# --- open_reports of a batch of compiled services ---------------------------------------------


def test_open_reports_of_a_batch_are_each_services_own(engine, tmp_path):
    # Compiled services read a batch's reports in one query: each service must get exactly what
    # the one-service query gives it (kinds, newest time, counts; resolved reports left out).
    from service.directory import live_sites
    from service.directory.demo_data import write_ndjson

    write_ndjson(tmp_path / "demo.ndjson", 3, 5)
    import_path(engine, tmp_path / "demo.ndjson", source="demo")
    with engine.connect() as connection:
        *with_reports, without = connection.execute(text("SELECT id FROM service ORDER BY id")).scalars()
    now = datetime.now(UTC)
    reports = [
        (with_reports[0], "full", "a", now - timedelta(hours=2), "open"),
        (with_reports[0], "full", "b", now - timedelta(hours=1), "open"),
        (with_reports[0], "wrong_phone", "a", now - timedelta(hours=3), "open"),
        (with_reports[1], "closed_today", "a", now - timedelta(minutes=5), "open"),
        (with_reports[1], "moved", "b", now, "resolved"),
        (without, "moved", "a", now, "resolved"),
    ]
    with engine.begin() as connection:
        for service_id, kind, reporter, created_at, status in reports:
            connection.execute(
                text(
                    "INSERT INTO field_report (id, service_id, kind, reporter_key, reporter_role, reporter_agency, "
                    "created_at, status, resolved_at) VALUES (:id, :service_id, :kind, :reporter, 'navigator', 'x', "
                    ":created_at, :status, CASE WHEN :status = 'resolved' THEN now() END)"
                ),
                {
                    "id": uuid.uuid4(),
                    "service_id": service_id,
                    "kind": kind,
                    "reporter": reporter,
                    "created_at": created_at,
                    "status": status,
                },
            )
    with engine.connect() as connection:
        batch = live_sites.open_reports_by_service(connection, [*with_reports, without])
        one_by_one = {i: live_sites.open_reports_of(connection, i) for i in [*with_reports, without]}
    assert set(batch) == set(with_reports) and one_by_one[without] == []
    assert all(batch[i] == one_by_one[i] for i in with_reports)
    assert [(e["kind"], e["count"]) for e in batch[with_reports[0]]] == [("full", 2), ("wrong_phone", 1)]
    assert [e["kind"] for e in batch[with_reports[1]]] == ["closed_today"]
