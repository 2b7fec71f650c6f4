"""Who serves this address? ``serves=`` on nearest and search, ``serves_location`` on every
result, and the simplified areas an offline pack carries (service/areas/serves.py), over real
HTTP on a real PostGIS, against a brute force: shapely's point-in-polygon over the shapes the
sites hold, and plain geodesic distances."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import orjson
import pytest
from shapely.geometry import MultiPolygon, Point, shape
from sqlalchemy import create_engine, text

from service.maps.packs.snapshot import snapshot_services
from spatial.geodesy import round_up_km
from tests.support.areas import area, polygon_json, service_with_areas, square
from tests.support.hsds_services import TORONTO, import_services, service_json
from tests.support.servers import start_server, stop_server
from tests.support.site_distances import site_distances_m

PROBLEM = "application/problem+json"
PROBES = 300
LIMIT = 20


@pytest.fixture(scope="module")
def sites(demo_database_url):
    """Every site of the demo data with the shape it serves (None: unknown)."""
    engine = create_engine(demo_database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("""
            SELECT s.service_id::text AS service_id, s.location_id::text AS location_id, s.is_private,
                   s.status, ST_AsGeoJSON(s.serves_geom) AS shape,
                   ST_X(CASE WHEN s.is_private THEN s.coarse_geom ELSE s.geom END) AS lon,
                   ST_Y(CASE WHEN s.is_private THEN s.coarse_geom ELSE s.geom END) AS lat
            FROM service_site s WHERE s.geom IS NOT NULL
        """)
        ).mappings()
        found = [{**row, "shape": shape(json.loads(row["shape"])) if row["shape"] else None} for row in rows]
    engine.dispose()
    return {(s["service_id"], s["location_id"]): s for s in found}


def _location(site: dict, lat: float, lon: float) -> str:
    if site["shape"] is None:
        return "unknown"
    return "yes" if site["shape"].covers(Point(lon, lat)) else "no"


def _brute_force(engine, sites: dict, lat: float, lon: float, serves: tuple[float, float] | None) -> list:
    """The nearest LIMIT sites that serve ``serves`` (or all, without it), ranked as nearest
    ranks them: exact metres, confidential ones by their cell rounded up to a km."""
    distances = site_distances_m(engine, lat, lon)
    ranked = []
    for (service_id, location_id), site in sites.items():
        distance_m = distances.get(f"{service_id}/{location_id}")
        if distance_m is None or distance_m > 200_000 or site["status"] != "active":
            continue
        if serves is not None and _location(site, *serves) == "no":
            continue
        ranked.append((round_up_km(distance_m) if site["is_private"] else distance_m, service_id, location_id))
    ranked.sort()
    return [(service_id, location_id) for _, service_id, location_id in ranked[:LIMIT]]


def _probe_points(sites: dict, count: int, seed: int) -> list[tuple[float, float]]:
    """Points around the sites that have a shape: inside and outside their circles."""
    rng = random.Random(seed)
    shaped = [s for s in sites.values() if s["shape"] is not None and not s["is_private"]]
    points = []
    for _ in range(count):
        site = rng.choice(shaped)
        points.append((site["lat"] + rng.uniform(-0.3, 0.3), site["lon"] + rng.uniform(-0.4, 0.4)))
    return points


def test_the_demo_data_has_shapes_to_check(sites):
    shaped = [s for s in sites.values() if s["shape"] is not None]
    assert len(sites) * 0.15 < len(shaped) < len(sites) * 0.4
    # Confidential sites have named areas only (Ontario here), never a circle around the door.
    assert all(s["shape"].area > 50 for s in shaped if s["is_private"])


def test_nearest_serves_equals_a_point_in_polygon_brute_force(demo_server, demo_database_url, sites):
    engine = create_engine(demo_database_url)
    answers = {"yes": 0, "no": 0, "unknown": 0}
    left_out = 0
    with demo_server.client() as client:
        for index, (lat, lon) in enumerate(_probe_points(sites, PROBES, seed=19)):
            # Half ask about the point searched from, half about another address nearby.
            serves = (lat, lon) if index % 2 else (lat + 0.05, lon - 0.05)
            value = "here" if index % 2 else f"{serves[0]},{serves[1]}"
            params = {"lat": lat, "lon": lon, "limit": LIMIT}
            filtered = client.get("/v1/services/nearest", params={**params, "serves": value})
            assert filtered.status_code == 200, filtered.text
            results = filtered.json()["results"]
            got = [(r["service_id"], r["location_id"]) for r in results]
            assert got == _brute_force(engine, sites, lat, lon, serves), f"at {lat},{lon} serves {value}"
            for result in results:
                said = result["serves_location"]
                assert said == _location(sites[(result["service_id"], result["location_id"])], *serves)
                assert said in ("yes", "unknown")
                answers[said] += 1
            if index % 10 == 0:  # without the filter: the answer for the query point, "no" included
                plain = client.get("/v1/services/nearest", params=params).json()["results"]
                for result in plain:
                    said = result["serves_location"]
                    assert said == _location(sites[(result["service_id"], result["location_id"])], lat, lon)
                    answers[said] += 1
                    left_out += said == "no"
    engine.dispose()
    assert answers["yes"] > 100 and answers["unknown"] > 100 and answers["no"] > 0 and left_out > 0


def test_search_serves_and_its_answer(demo_server, sites):
    lat, lon = _probe_points(sites, 1, seed=7)[0]
    with demo_server.client() as client:
        near = client.get("/v1/services", params={"near": f"{lat},{lon}", "per_page": 100}).json()
        served = client.get("/v1/services", params={"near": f"{lat},{lon}", "serves": "here", "per_page": 100}).json()
        plain = client.get("/v1/services", params={"q": "food", "per_page": 5}).json()
    for item in near["contents"]:
        assert item["serves_location"] == _location(sites[(item["service_id"], item["location_id"])], lat, lon)
    expected = [s for s in sites.values() if s["status"] == "active" and _location(s, lat, lon) != "no"]
    assert served["total_items"] == len(expected) < near["total_items"]
    assert all(item["serves_location"] in ("yes", "unknown") for item in served["contents"])
    # No point to ask about: no answer.
    assert plain["contents"] and all(item["serves_location"] is None for item in plain["contents"])


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/v1/services/nearest", {"lat": 45.8, "lon": -77.1, "serves": "somewhere"}, "numbers_expected"),
        ("/v1/services/nearest", {"lat": 45.8, "lon": -77.1, "serves": "45.8"}, "numbers_expected"),
        ("/v1/services/nearest", {"lat": 45.8, "lon": -77.1, "serves": "nan,1"}, "numbers_expected"),
        ("/v1/services/nearest", {"lat": 45.8, "lon": -77.1, "serves": "95,-77"}, "point_invalid"),
        ("/v1/services", {"serves": "here"}, "serves_here_without_point"),
        ("/v1/services", {"serves": "1,2,3"}, "numbers_expected"),
    ],
)
def test_bad_serves_values_are_422_in_both_languages(demo_server, path, params, code):
    with demo_server.client() as client:
        english = client.get(path, params=params)
        french = client.get(path, params=params, headers={"Accept-Language": "fr-CA"})
    for response in (english, french):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith(PROBLEM)
        (error,) = response.json()["errors"]
        assert error["field"] == "query.serves" and error["code"] == code
    assert "serves" in french.json()["detail"] and french.json()["detail"] != english.json()["detail"]


def test_a_confidential_site_is_served_by_named_areas_only(engine, database_url, tmp_path):
    """An extent may be drawn around a confidential shelter's door: answers to serves= point
    by point would trace it. Its named areas count; its extents do not, and no shape of it
    reaches a pack."""
    lon, lat = TORONTO
    circle = polygon_json([square(lon, lat, 0.01)])
    hidden = service_with_areas("Hidden shelter", lon, lat, [area("around the door", circle, "geojson")])
    hidden["service_at_locations"][0]["location"]["address_private"] = True
    provincial = service_with_areas("Provincial line", lon + 0.02, lat, [area("Ontario")])
    provincial["service_at_locations"][0]["location"]["address_private"] = True
    public = service_with_areas("Drop-in", lon - 0.02, lat, [area("near", circle, "geojson")])
    import_services(database_url, tmp_path, "serves", [hidden, provincial, public, service_json("Food", lon, lat)])
    with engine.connect() as connection:
        shapes = dict(
            connection.execute(
                text(
                    "SELECT sv.name, ss.serves_geom IS NOT NULL FROM service_site ss "
                    "JOIN service sv ON sv.id = ss.service_id"
                )
            ).all()
        )
        snapshot = snapshot_services(connection, (lon - 1, lat - 1, lon + 1, lat + 1), (), datetime.now(UTC))
    assert shapes == {"Hidden shelter": False, "Provincial line": True, "Drop-in": True, "Food": False}
    areas = {site["name"]: site["serves_area"] for site in snapshot}
    assert areas["Hidden shelter"] is None and areas["Food"] is None
    # The public circle, as GeoJSON MultiPolygon coordinates the phone can test.
    assert MultiPolygon([(ring[0], ring[1:]) for ring in areas["Drop-in"]]).covers(Point(lon, lat))
    assert shape({"type": "MultiPolygon", "coordinates": areas["Provincial line"]}).covers(Point(lon, lat))


def test_packs_and_sync_carry_simplified_areas(demo_server, sites):
    with demo_server.client() as client:
        page = client.get("/v1/sync/services").json()
    synced = {(site["service_id"], site["location_id"]): site for s in page["services"] for site in s["sites"]}
    assert synced
    checked = 0
    rng = random.Random(3)
    for key, site in synced.items():
        truth = sites.get(key)
        if truth is None:
            continue
        assert (site["serves_area"] is None) == (truth["shape"] is None)
        if site["serves_area"] is None:
            continue
        offline = shape({"type": "MultiPolygon", "coordinates": site["serves_area"]})
        # About 200 m of simplification: the same answer away from the edge.
        for _ in range(20):
            minx, miny, maxx, maxy = truth["shape"].bounds
            point = Point(rng.uniform(minx - 0.1, maxx + 0.1), rng.uniform(miny - 0.1, maxy + 0.1))
            if truth["shape"].boundary.distance(point) > 0.003:
                assert offline.covers(point) == truth["shape"].covers(point)
                checked += 1
        # Small enough for a phone: Ontario's outline stays under 300 points.
        assert len(orjson.dumps(site["serves_area"])) < 8_000
    assert checked > 200


def test_a_pack_file_holds_the_areas(demo_database_url, tmp_path):
    """The stored snapshot, as the phone downloads it with its pack."""
    server = start_server(
        demo_database_url, env={"FIELDNAV_PACKS_DIR": str(tmp_path), "FIELDNAV_LIMIT_EXPENSIVE_PER_MIN": "1000"}
    )
    try:
        with server.client() as client:
            created = client.post(
                "/v1/offline/packs", json={"bbox": [-79.6, 43.55, -79.1, 43.85], "min_zoom": 8, "max_zoom": 10}
            )
            assert created.status_code == 201, created.text
            services = client.get(created.json()["urls"]["services"]).json()["services"]
    finally:
        stop_server(server)
    assert services and all("serves_area" in site for site in services)
    assert any(site["serves_area"] for site in services)
