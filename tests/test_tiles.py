"""Vector tiles over real HTTP on a real PostGIS: decoded with an independent MVT decoder and
checked against a brute force over service_site; HTTP caching; TileJSON. Pure tile math first."""

from __future__ import annotations

import math
import random
import time
from collections import Counter

import h3
import jsonschema
import mapbox_vector_tile
import pytest
from sqlalchemy import create_engine, text

from spatial.tiles import (
    BUFFER,
    EXTENT,
    HALF_WORLD_M,
    MAX_LAT_DEG,
    TileOutOfRange,
    check_tile,
    children,
    cluster_resolution,
    parent,
    tile_bounds_3857,
    tile_bounds_4326,
    tile_count,
    tile_for_lonlat,
    tile_range,
    tiles_covering,
)
from tests.support.hsds_services import OTTAWA, PLACES, TORONTO, import_services, service_json
from tests.support.servers import start_server, stop_server

MVT = "application/vnd.mapbox-vector-tile"
HUDSON_BAY = (-85.0, 59.0)


# --------------------------------------------------------------------------- tile math


def test_tile_bounds_in_metres_and_degrees():
    assert tile_bounds_3857(0, 0, 0) == (-HALF_WORLD_M, -HALF_WORLD_M, HALF_WORLD_M, HALF_WORLD_M)
    west, south, east, north = tile_bounds_4326(0, 0, 0)
    assert (west, east) == (-180, 180) and math.isclose(north, MAX_LAT_DEG) and math.isclose(south, -MAX_LAT_DEG)
    # z1 quadrants: x grows eastwards, y southwards.
    assert tile_bounds_3857(1, 1, 0) == (0.0, 0.0, HALF_WORLD_M, HALF_WORLD_M)
    west, south, east, north = tile_bounds_4326(10, 286, 373)  # downtown Toronto
    assert west < TORONTO[0] < east and south < TORONTO[1] < north
    assert math.isclose(east - west, 360 / 1024)


def test_a_point_is_in_exactly_one_tile_and_children_partition_their_parent():
    rng = random.Random(3)
    for _ in range(500):
        lon, lat = rng.uniform(-95, -74), rng.uniform(42, 57)
        z = rng.randint(0, 18)
        x, y = tile_for_lonlat(lon, lat, z)
        west, south, east, north = tile_bounds_4326(z, x, y)
        assert west <= lon < east and south < lat <= north + 1e-12
        if z > 0:
            assert parent(z, x, y) == (z - 1, *tile_for_lonlat(lon, lat, z - 1))
        assert (z + 1, *tile_for_lonlat(lon, lat, z + 1)) in children(z, x, y)
    # A point exactly on a tile edge belongs to the tile east / south of it.
    assert tile_for_lonlat(0.0, 0.0, 1) == (1, 1)


@pytest.mark.parametrize(
    "z, x, y, message",
    [
        (-1, 0, 0, "Zoom -1 is out of range"),
        (19, 0, 0, "Zoom 19 is out of range"),
        (3, 8, 0, "x and y go from 0 to 7"),
        (3, 0, -1, "x and y go from 0 to 7"),
    ],
)
def test_check_tile_refuses_addresses_that_name_no_tile(z, x, y, message):
    with pytest.raises(TileOutOfRange, match=message):
        check_tile(z, x, y, max_zoom=18)
    check_tile(18, 2**18 - 1, 0, max_zoom=18)


def test_cluster_resolution_follows_the_zoom():
    assert [cluster_resolution(z) for z in range(15)] == [4, 4, 4, 4, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 8]


def test_tiles_covering_a_bbox():
    bbox = (-79.64, 43.58, -79.12, 43.86)  # Toronto
    for z in (0, 5, 10, 14):
        x_min, y_min, x_max, y_max = tile_range(bbox, z)
        assert x_min <= x_max and y_min <= y_max
        for lon, lat in ((bbox[0], bbox[1]), (bbox[2], bbox[3]), (-79.38, 43.65)):
            x, y = tile_for_lonlat(lon, lat, z)
            assert x_min <= x <= x_max and y_min <= y <= y_max
    listed = list(tiles_covering(bbox, range(8, 13)))
    assert len(listed) == len(set(listed)) == tile_count(bbox, range(8, 13))
    assert list(tiles_covering(bbox, [0])) == [(0, 0, 0)]
    with pytest.raises(ValueError):
        tile_range((10, 0, -10, 1), 3)


# --------------------------------------------------------------------------- against the data


@pytest.fixture(scope="module")
def sites(demo_database_url) -> list[dict]:
    """Every located site with what the brute force needs; 3857 metres computed by PostGIS."""
    engine = create_engine(demo_database_url)
    with engine.connect() as connection:
        rows = (
            connection.execute(
                text("""
            SELECT service_id::text AS id, location_id::text AS location_id, site_key, is_private, status, category_groups,
                   capacity_available, card ->> 'name' AS name, card -> 'week_intervals' AS week_intervals,
                   ST_X(geom) AS lon, ST_Y(geom) AS lat,
                   ST_X(ST_Transform(geom, 3857)) AS x_m, ST_Y(ST_Transform(geom, 3857)) AS y_m
            FROM service_site WHERE geom IS NOT NULL
        """)
            )
            .mappings()
            .all()
        )
    engine.dispose()
    return [dict(r) for r in rows]


def _visible(site: dict, categories: set[str] | None = None) -> bool:
    return (
        not site["is_private"]
        and site["status"] == "active"
        and (not categories or bool(categories & set(site["category_groups"])))
    )


def _pixel(site: dict, z: int, x: int, y: int) -> tuple[float, float]:
    """Where the site falls in tile units (y down), unrounded."""
    xmin, _, xmax, ymax = tile_bounds_3857(z, x, y)
    size_m = xmax - xmin
    return (site["x_m"] - xmin) / size_m * EXTENT, (ymax - site["y_m"]) / size_m * EXTENT


def _inside(site: dict, z: int, x: int, y: int) -> bool:
    """Half-open tile membership, decided here in Python."""
    xmin, ymin, xmax, ymax = tile_bounds_3857(z, x, y)
    return xmin <= site["x_m"] < xmax and ymin < site["y_m"] <= ymax


LABELS_MIN_ZOOM = 14  # the default: names from here up


def _site_keys(features: list[dict], sites: list[dict], z: int, x: int, y: int) -> list[tuple[str, str]]:
    """(service id, location id) of each point, from its feature id (the site key), which
    every point has at every zoom, and no other id property."""
    by_key = {site["site_key"]: site for site in sites}
    keys = []
    for feature in features:
        props = feature["properties"]
        assert isinstance(feature.get("id"), int), feature
        assert "id" not in props and "location_id" not in props
        assert ("name" in props) == (z >= LABELS_MIN_ZOOM), "labels from labels_min_zoom only"
        site = by_key[feature["id"]]
        keys.append((site["id"], site["location_id"]))
    return keys


def fetch(client, z: int, x: int, y: int, **params):
    response = client.get(f"/v1/tiles/{z}/{x}/{y}.mvt", params=params)
    assert response.status_code in (200, 204), response.text
    if response.status_code == 204:
        assert response.content == b""
        return response, {}
    assert response.headers["content-type"] == MVT
    return response, mapbox_vector_tile.decode(response.content, default_options={"y_coord_down": True})


def _tiles_around(lon: float, lat: float, z: int, radius: int = 1) -> list[tuple[int, int, int]]:
    x, y = tile_for_lonlat(lon, lat, z)
    return [(z, x + dx, y + dy) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)]


POINT_TILES = sorted(
    {t for lon, lat in PLACES.values() for z in (13, 14) for t in _tiles_around(lon, lat, z)}
    | {(z, *tile_for_lonlat(lon, lat, z)) for lon, lat in PLACES.values() for z in (15, 16)}
)


def _expected_points(sites, z, x, y, categories=None, slack=0.0):
    low, high = -BUFFER - slack, EXTENT + BUFFER + slack
    found = set()
    for site in sites:
        if site["is_private"] or site["status"] != "active":
            continue
        px, py = _pixel(site, z, x, y)
        if low <= px <= high and low <= py <= high and (not categories or categories & set(site["category_groups"])):
            found.add((site["id"], site["location_id"]))
    return found


def test_point_tiles_hold_exactly_the_public_locations(demo_server, sites):
    by_key = {(s["id"], s["location_id"]): s for s in sites}
    private = {(s["id"], s["location_id"]) for s in sites if s["is_private"]}
    features_seen = in_buffer = 0
    with demo_server.client() as client:
        for z, x, y in POINT_TILES:
            _, layers = fetch(client, z, x, y)
            assert set(layers) <= {"services"}
            features = layers.get("services", {}).get("features", [])
            got = _site_keys(features, sites, z, x, y)
            assert len(got) == len(set(got)), "one point per service location"
            got = set(got)
            assert not got & private, f"confidential site in tile {z}/{x}/{y}"
            # Exactly the public sites within the tile plus its 64-unit buffer (one unit of
            # slack either way at the buffer's edge, where the grid snapping decides).
            assert _expected_points(sites, z, x, y, slack=-1) <= got <= _expected_points(sites, z, x, y, slack=1), (
                z,
                x,
                y,
            )
            for feature, key in zip(features, _site_keys(features, sites, z, x, y), strict=True):
                props = feature["properties"]
                site = by_key[key]
                px, py = _pixel(site, z, x, y)
                gx, gy = feature["geometry"]["coordinates"]
                assert feature["geometry"]["type"] == "Point" and abs(gx - px) <= 1 and abs(gy - py) <= 1
                assert props.get("name") == (site["name"][:80] if z >= LABELS_MIN_ZOOM else None)
                assert props["groups"] == ",".join(site["category_groups"])
                assert props["open_24_7"] is (site["week_intervals"] == [[0, 10080]])
                capacity = site["capacity_available"]
                assert props["capacity"] == ("none" if capacity is None else "available" if capacity > 0 else "full")
                in_buffer += not (0 <= gx <= EXTENT and 0 <= gy <= EXTENT)
            features_seen += len(features)
    assert features_seen > 100, "the tiles around Toronto and Ottawa are full of services"
    assert in_buffer > 0, "points just outside a tile are drawn in its buffer"


def test_confidential_sites_are_in_no_tile(demo_server, sites):
    private = [s for s in sites if s["is_private"]]
    assert private, "the demo data set has confidential sites"
    with demo_server.client() as client:
        for site in private[:15]:
            for z in (13, 16):
                x, y = tile_for_lonlat(site["lon"], site["lat"], z)
                _, layers = fetch(client, z, x, y)
                ids = set(_site_keys(layers.get("services", {}).get("features", []), sites, z, x, y))
                assert (site["id"], site["location_id"]) not in ids
                assert ids == _expected_points(sites, z, x, y, slack=1) & ids


def _clusters(layers: dict) -> list[dict]:
    return layers.get("clusters", {}).get("features", [])


def _cell(site: dict, resolution: int) -> str:
    # Sites carry the ancestors of their r9 cell (spatial/points.py), so cells nest across
    # resolutions; H3 ancestry is not always the coarse cell holding the point itself.
    return h3.cell_to_parent(h3.latlng_to_cell(site["lat"], site["lon"], 9), resolution)


CLUSTER_TILES = [(z, *tile_for_lonlat(lon, lat, z)) for lon, lat in (TORONTO, OTTAWA) for z in range(2, 13)]


def test_cluster_counts_add_up(demo_server, sites):
    with demo_server.client() as client:
        for z, x, y in CLUSTER_TILES:
            _, layers = fetch(client, z, x, y)
            assert set(layers) == {"clusters"}
            features = _clusters(layers)
            total = sum(f["properties"]["count"] for f in features)
            inside = [s for s in sites if _visible(s) and _inside(s, z, x, y)]
            assert total == len(inside) > 0, f"tile {z}/{x}/{y}"

            # Per cell and per category, against H3 computed here from the coordinates.
            resolution = cluster_resolution(z)
            cells = Counter(_cell(s, resolution) for s in inside)
            assert {f["properties"]["cell"]: f["properties"]["count"] for f in features} == cells
            for feature in features:
                props = feature["properties"]
                members = [s for s in inside if _cell(s, resolution) == props["cell"]]
                groups = Counter(g for s in members for g in s["category_groups"])
                assert {k: v for k, v in props.items() if k not in ("cell", "count")} == dict(groups)
                gx, gy = feature["geometry"]["coordinates"]
                assert 0 <= gx <= EXTENT and 0 <= gy <= EXTENT, "a cluster is drawn in the tile holding its points"

            # The four tiles below hold the same locations.
            below = 0
            for child in children(z, x, y):
                _, child_layers = fetch(client, *child)
                if child[0] < 13:
                    below += sum(f["properties"]["count"] for f in _clusters(child_layers))
                else:  # points: count those whose position is inside the child tile itself
                    keys = set(_site_keys(child_layers.get("services", {}).get("features", []), sites, *child))
                    below += sum(1 for s in inside if (s["id"], s["location_id"]) in keys and _inside(s, *child))
            assert below == total, f"children of {z}/{x}/{y}"


@pytest.mark.parametrize("category", ["shelter", "food,mental_health"])
def test_category_filter(demo_server, sites, category):
    wanted = set(category.split(","))
    with demo_server.client() as client:
        seen = 0
        for z, x, y in [t for t in POINT_TILES if t[0] == 13]:
            _, layers = fetch(client, z, x, y, category=category)
            features = layers.get("services", {}).get("features", [])
            got = set(_site_keys(features, sites, z, x, y))
            assert all(wanted & set(f["properties"]["groups"].split(",")) for f in features)
            assert (
                _expected_points(sites, z, x, y, wanted, slack=-1)
                <= got
                <= _expected_points(sites, z, x, y, wanted, slack=1)
            )
            seen += len(got)
        assert seen > 0
        for z, x, y in [t for t in CLUSTER_TILES if t[0] in (6, 9, 12)]:
            _, layers = fetch(client, z, x, y, category=category)
            features = _clusters(layers)
            inside = [s for s in sites if _visible(s, wanted) and _inside(s, z, x, y)]
            assert sum(f["properties"]["count"] for f in features) == len(inside)
            for feature in features:  # only the asked-for groups are counted
                assert set(feature["properties"]) - {"cell", "count"} <= wanted
            # Repeated or comma-separated, in any order: the same tile.
            again = client.get(
                f"/v1/tiles/{z}/{x}/{y}.mvt", params=[("category", c) for c in sorted(wanted, reverse=True)]
            )
            assert again.content == fetch(client, z, x, y, category=category)[0].content


def _root_version(client) -> int:
    return client.get("/").json()["data_version"]


def test_http_caching_of_tiles(demo_server):
    z, (x, y) = 14, tile_for_lonlat(*TORONTO, 14)
    path = f"/v1/tiles/{z}/{x}/{y}.mvt"
    with demo_server.client() as client:
        version = _root_version(client)
        plain = client.get(path)
        assert plain.status_code == 200 and plain.headers["etag"]
        cache_control = plain.headers["cache-control"]
        assert cache_control.startswith("public, max-age=60,") and "stale-while-revalidate=" in cache_control
        assert "stale-if-error=" in cache_control and "immutable" not in cache_control

        versioned = client.get(path, params={"v": version})
        assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert versioned.content == plain.content and versioned.headers["etag"] == plain.headers["etag"]

        # A version that is not the current one (older, or not there yet) is never immutable.
        for other in (version - 1, version + 1000):
            stale = client.get(path, params={"v": other})
            assert stale.status_code == 200 and stale.content == plain.content
            assert stale.headers["cache-control"] == cache_control

        etag = plain.headers["etag"]
        for sent in (etag, etag.removeprefix("W/"), f'"nope", {etag}', "*"):
            not_modified = client.get(path, params={"v": version}, headers={"If-None-Match": sent})
            assert not_modified.status_code == 304 and not_modified.content == b""
            assert not_modified.headers["etag"] == etag
            assert not_modified.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert client.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200

        # The ETag is a hash of the content: another tile, another tag.
        other = client.get(f"/v1/tiles/{z}/{x + 1}/{y}.mvt")
        assert other.status_code == 200 and other.headers["etag"] != etag


def test_an_empty_tile_is_204(demo_server):
    z = 14
    x, y = tile_for_lonlat(*HUDSON_BAY, z)
    with demo_server.client() as client:
        for params in ({}, {"v": _root_version(client)}, {"category": "legal"}):
            response = client.get(f"/v1/tiles/{z}/{x}/{y}.mvt", params=params)
            assert response.status_code == 204 and response.content == b""
            assert "content-type" not in response.headers or response.headers["content-type"] != MVT
            assert response.headers["cache-control"].startswith("public")
        assert client.get("/v1/tiles/3/0/0.mvt").status_code == 204  # Pacific and Siberia: nothing


@pytest.mark.parametrize(
    "path, status, slug",
    [
        ("/v1/tiles/19/0/0.mvt", 404, "not-found"),
        ("/v1/tiles/-1/0/0.mvt", 404, "not-found"),
        ("/v1/tiles/3/8/0.mvt", 404, "not-found"),
        ("/v1/tiles/3/0/8.mvt", 404, "not-found"),
        ("/v1/tiles/14/-1/0.mvt", 404, "not-found"),
        ("/v1/tiles/a/0/0.mvt", 422, "validation-error"),
        ("/v1/tiles/3/0.5/0.mvt", 422, "validation-error"),
        ("/v1/tiles/3/0/0.mvt?v=abc", 422, "validation-error"),
        ("/v1/tiles/3/0/0.mvt?category=nope", 422, "unknown-category"),
        ("/v1/tiles.json?category=shelter,nope", 422, "unknown-category"),
    ],
)
def test_bad_tile_addresses_are_problems_never_cached(demo_server, path, status, slug):
    with demo_server.client() as client:
        response = client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/" + slug) and response.json()["detail"]
    assert response.headers["cache-control"] == "no-store"
    if status == 404:
        assert "out of range" in response.json()["detail"] or "does not exist" in response.json()["detail"]


# TileJSON 3.0.0, from the spec's own schema (github.com/mapbox/tilejson-spec, 3.0.0/schema.json),
# with the spec's MUSTs that the schema leaves out (absolute URLs, required fields).
TILEJSON_SCHEMA = {
    "type": "object",
    "required": ["tilejson", "tiles", "vector_layers"],
    "properties": {
        "tilejson": {"type": "string", "pattern": r"^3\.0\.\d+$"},
        "tiles": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^https?://.*{z}.*{x}.*{y}"}},
        "vector_layers": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "fields"],
                "properties": {
                    "id": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                    "description": {"type": "string"},
                    "maxzoom": {"type": "integer"},
                    "minzoom": {"type": "integer"},
                },
            },
        },
        "attribution": {"type": "string"},
        "bounds": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
        "description": {"type": "string"},
        "maxzoom": {"minimum": 0, "maximum": 30, "type": "integer"},
        "minzoom": {"minimum": 0, "maximum": 30, "type": "integer"},
        "name": {"type": "string"},
        "scheme": {"enum": ["xyz", "tms"]},
        "version": {"type": "string", "pattern": r"\d+\.\d+\.\d+\w?[\w\d]*"},
    },
}


def test_tilejson_is_valid_and_versioned(demo_server, sites):
    with demo_server.client() as client:
        version = _root_version(client)
        response = client.get("/v1/tiles.json")
        assert response.status_code == 200 and response.headers["etag"]
        document = response.json()
        jsonschema.validate(document, TILEJSON_SCHEMA)
        assert document["tiles"] == [f"{demo_server.base_url}/v1/tiles/{{z}}/{{x}}/{{y}}.mvt?v={version}"]
        assert document["minzoom"] == 0 and document["maxzoom"] == 18 and document["scheme"] == "xyz"
        layers = {layer["id"]: layer for layer in document["vector_layers"]}
        assert (layers["clusters"]["minzoom"], layers["clusters"]["maxzoom"]) == (0, 12)
        assert (layers["services"]["minzoom"], layers["services"]["maxzoom"]) == (13, 18)
        assert set(layers["services"]["fields"]) == {"name", "groups", "open_24_7", "capacity", "capacity_as_of"}
        assert {"cell", "count", "shelter", "food"} <= set(layers["clusters"]["fields"])
        west, south, east, north = document["bounds"]
        public = [s for s in sites if _visible(s)]
        assert all(west <= s["lon"] <= east and south <= s["lat"] <= north for s in public)
        assert west < -74 and east > -80 and document["attribution"]
        assert client.get("/v1/tiles.json", headers={"If-None-Match": response.headers["etag"]}).status_code == 304

        filtered = client.get("/v1/tiles.json", params=[("category", "shelter"), ("category", "food")]).json()
        url = filtered["tiles"][0]
        assert url.endswith(f".mvt?v={version}&category=food,shelter")

        # The template works as MapLibre fills it in, and such URLs are immutable.
        z, (x, y) = 13, tile_for_lonlat(*TORONTO, 13)
        tile = client.get(url.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y)))
        assert tile.status_code == 200 and tile.headers["cache-control"] == "public, max-age=31536000, immutable"
        features = mapbox_vector_tile.decode(tile.content)["services"]["features"]
        assert features and all({"food", "shelter"} & set(f["properties"]["groups"].split(",")) for f in features)


# --------------------------------------------------------------------------- a data set of our own


def test_tile_urls_change_after_an_import(database_url, tmp_path):
    lon, lat = TORONTO
    first = import_services(database_url, tmp_path, "first", [service_json("Front Street Shelter", lon, lat)])
    server = start_server(database_url, env={"FIELDNAV_DATA_VERSION_TTL_S": "0.2"})
    try:
        with server.client() as client:
            before = client.get("/v1/tiles.json").json()
            assert before["tiles"][0].endswith(f"?v={first}")
            assert before["bounds"] == [round(lon, 4), round(lat, 4), round(lon, 4), round(lat, 4)]
            z, (x, y) = 15, tile_for_lonlat(lon, lat, 15)
            path = f"/v1/tiles/{z}/{x}/{y}.mvt"
            old_tile = client.get(path, params={"v": first})
            assert old_tile.headers["cache-control"].endswith("immutable")

            second = import_services(
                database_url,
                tmp_path,
                "second",
                [
                    service_json("Queen Street Food Bank", lon + 0.001, lat, code="BD-1800"),
                    service_json("Safe House", lon - 0.001, lat, private=True),
                ],
            )
            assert second > first
            time.sleep(0.5)
            after = client.get("/v1/tiles.json").json()
            assert after["tiles"][0].endswith(f"?v={second}") and after["tiles"] != before["tiles"]

            new_tile = client.get(path, params={"v": second})
            assert new_tile.headers["cache-control"].endswith("immutable")
            names = {
                f["properties"]["name"] for f in mapbox_vector_tile.decode(new_tile.content)["services"]["features"]
            }
            assert names == {"Front Street Shelter", "Queen Street Food Bank"}  # never the safe house
            # The old URL now serves the new data, briefly cacheable only.
            stale = client.get(path, params={"v": first})
            assert stale.content == new_tile.content and "immutable" not in stale.headers["cache-control"]
    finally:
        stop_server(server)
