"""GET /v1/services/nearest over real HTTP on a real PostGIS, checked against a brute-force
computation over the whole data set."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from service.directory.hours import open_status
from service.directory.nearest import NearestQuery
from spatial.geodesy import round_up_km
from tests.support.site_distances import site_distances_m

TORONTO = ZoneInfo("America/Toronto")

FILTER_CASES = [
    {},
    {"category": "shelter"},
    {"category": "food,mental_health"},
    {"language": "fr"},
    {"age": 15},
    {"accessible": "true"},
    {"has_capacity": "true", "category": "shelter"},
    {"open_at": "2026-11-25T02:00:00-05:00"},
    {"open_at": "2026-11-28T14:30:00-05:00", "category": "food"},
    {"category": "crisis", "open_at": "2026-11-25T02:00:00-05:00", "language": "en"},
    {"category": "senior_support", "max_distance_m": 25_000},
    # Rare tests (the posting lists at any size), far enough to find something.
    {"language": "oj", "max_distance_m": 500_000},
    {"category": "legal", "language": "fr", "max_distance_m": 500_000},
]


# What the brute force needs of every site, read straight from the tables.
_SITES = text("""
    SELECT s.service_id::text AS service_id, s.location_id::text AS location_id, s.is_private, s.status,
           s.category_groups, s.language_codes, s.minimum_age, s.maximum_age, s.accessible,
           s.capacity_available, s.capacity_as_of, s.timezone, s.card -> 'week_intervals' AS week_intervals,
           ST_AsText(CASE WHEN s.is_private THEN s.coarse_geom ELSE s.geom END) AS wkt
    FROM service_site s
""")


@pytest.fixture(scope="module")
def sites(demo_database_url):
    """Every site with what the brute force needs."""
    engine = create_engine(demo_database_url)
    with engine.connect() as connection:
        rows = connection.execute(_SITES).mappings().all()
    engine.dispose()
    return [dict(r) for r in rows]


def _passes(site: dict, params: dict) -> bool:
    if site["status"] != "active":
        return False
    if "category" in params and not set(params["category"].split(",")) & set(site["category_groups"]):
        return False
    if "language" in params and params["language"] not in site["language_codes"]:
        return False
    if "age" in params:
        age = params["age"]
        if site["minimum_age"] is not None and site["minimum_age"] > age:
            return False
        if site["maximum_age"] is not None and site["maximum_age"] < age:
            return False
    if params.get("accessible") == "true" and not site["accessible"]:
        return False
    if params.get("has_capacity") == "true":
        # Free and not stale (older than FIELDNAV_CAPACITY_STALE_AFTER_H, 12 h by default).
        if not (site["capacity_available"] or 0) > 0:
            return False
        if site["capacity_as_of"] < datetime.now(UTC) - timedelta(hours=12):
            return False
    if "open_at" in params:
        intervals = [tuple(i) for i in site["week_intervals"]] if site["week_intervals"] is not None else None
        if open_status(intervals, site["timezone"], datetime.fromisoformat(params["open_at"])).state != "open":
            return False
    return True


def brute_force(engine, sites: list[dict], lat: float, lon: float, params: dict) -> list[tuple[str, str, int]]:
    """Geodesic distance from the point to every site, by PostGIS, no index, no cleverness."""
    max_distance_m = params.get("max_distance_m", 200_000)
    limit = params.get("limit", 10)
    distances = site_distances_m(engine, lat, lon)
    ranked = []
    for site in sites:
        key = f"{site['service_id']}/{site['location_id']}"
        if key not in distances or distances[key] > max_distance_m or not _passes(site, params):
            continue
        distance_m = round_up_km(distances[key]) if site["is_private"] else distances[key]
        ranked.append((distance_m, site["service_id"], site["location_id"]))
    ranked.sort()
    return [(service_id, location_id, round(d)) for d, service_id, location_id in ranked[:limit]]


def _probe_points(sites: list[dict], count: int, seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    coordinates = [tuple(map(float, s["wkt"][6:-1].split())) for s in sites if s["wkt"]]
    lons, lats = [c[0] for c in coordinates], [c[1] for c in coordinates]
    points = []
    for _ in range(count):
        lon, lat = rng.choice(coordinates)  # in a town, a few km off a site
        points.append((lat + rng.uniform(-0.05, 0.05), lon + rng.uniform(-0.05, 0.05)))
    # The edges of the data, and empty places (Hudson Bay coast, Lake Superior, far north).
    points += [
        (min(lats), lons[lats.index(min(lats))]),
        (max(lats), lons[lats.index(max(lats))]),
        (lats[lons.index(min(lons))], min(lons)),
        (lats[lons.index(max(lons))], max(lons)),
        (55.0, -85.0),
        (47.5, -87.5),
        (52.0, -91.0),
        (44.0, -66.0),
    ]
    return points


@pytest.mark.parametrize(
    "params", FILTER_CASES, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "no-filter"
)
def test_nearest_equals_brute_force(demo_server, demo_database_url, sites, params):
    engine = create_engine(demo_database_url)
    points = _probe_points(sites, 14, seed=len(str(params)))
    answered = 0
    with demo_server.client() as client:
        for lat, lon in points:
            response = client.get("/v1/services/nearest", params={"lat": lat, "lon": lon, **params})
            assert response.status_code == 200, response.text
            got = [(r["service_id"], r["location_id"], r["distance_m"]) for r in response.json()["results"]]
            expected = brute_force(engine, sites, lat, lon, params)
            assert [g[:2] for g in got] == [e[:2] for e in expected], f"at {lat},{lon} with {params}"
            assert all(abs(g[2] - e[2]) <= 1 for g, e in zip(got, expected, strict=True))
            answered += bool(got)
    engine.dispose()
    assert answered >= len(points) // 2, "most probes are in towns: they must find something"


def test_results_carry_what_a_field_worker_needs(demo_server):
    with demo_server.client() as client:
        body = client.get("/v1/services/nearest", params={"lat": 43.6532, "lon": -79.3832, "limit": 50}).json()
    assert body["count"] == len(body["results"]) == 50
    distances = [r["distance_m"] for r in body["results"]]
    assert distances == sorted(distances)
    public = [r for r in body["results"] if not r["confidential"]]
    for result in public:
        assert {
            "service_id",
            "location_id",
            "name",
            "category_groups",
            "distance_m",
            "bearing_deg",
            "lon",
            "lat",
            "address",
            "phones",
            "hours",
            "eligibility",
            "languages",
            "accessibility",
            "capacity",
            "last_verified",
            "access",
        } <= set(result)
        assert result["lon"] == round(result["lon"], 5) and 0 <= result["bearing_deg"] < 360
        assert result["access"] in {"walk_in", "call_first", "referral", "unknown"}
        assert result["hours"]["state"] in {"open", "closed", "unknown"}
        assert all(p["tel"] is None or p["tel"].startswith("tel:+1") for p in result["phones"])
    labels = {r["hours"]["next_change"] for r in body["results"]}
    assert "24/7" in labels or any(r["hours"]["always_open"] for r in body["results"])


def test_confidential_sites_never_reveal_where_they_are(demo_server, sites):
    private = [s for s in sites if s["is_private"]]
    assert private, "the demo data set has confidential sites"
    lon, lat = map(float, private[0]["wkt"][6:-1].split())  # standing right at the cell centre
    with demo_server.client() as client:
        body = client.get(
            "/v1/services/nearest", params={"lat": lat, "lon": lon, "category": "shelter", "limit": 50}
        ).json()
        geo = client.get(
            "/v1/services/nearest",
            params={"lat": lat, "lon": lon, "category": "shelter", "limit": 50},
            headers={"Accept": "application/geo+json"},
        ).json()
    confidential = [r for r in body["results"] if r["confidential"]]
    assert confidential
    for result in confidential:
        assert result["lat"] is None and result["lon"] is None and result["address"] is None
        assert result["location_name"] is None and result["bearing_deg"] is None
        assert result["label"] == "call to connect" and result["access"] == "call_to_connect"
        assert result["distance_is_approximate"] and result["distance_m"] % 1000 == 0
        assert result["phones"], "a confidential site must still be callable"
    features = [f for f in geo["features"] if f["properties"]["confidential"]]
    assert features and all(f["geometry"] is None for f in features)


def _assert_exact(connection, engine, sites, lat: float, lon: float, params: dict, **query_fields) -> None:
    """find_nearest on ``connection`` gives the brute force's sites, in its order."""
    from service.directory.nearest import NearestQuery, find_nearest

    hits = find_nearest(connection, NearestQuery(lat=lat, lon=lon, **query_fields))
    got = [(h.card["service_id"], h.card["location_id"]) for h in hits]
    assert got == [e[:2] for e in brute_force(engine, sites, lat, lon, params)], (lat, lon, params)


@pytest.mark.parametrize("extra", [0, 1])
def test_the_second_pass_is_exact_when_the_walk_cannot_prove_the_answer(demo_database_url, sites, monkeypatch, extra):
    """With candidate_count's candidates the walk almost always proves its answer and skips
    the second pass; with k or k + 1 it often cannot, so this runs the second pass (the box
    around the k-th candidate's reach) and checks it against the brute force as well."""
    from service.directory import nearest

    monkeypatch.setattr(nearest, "candidate_count", lambda limit: limit + extra)
    engine = create_engine(demo_database_url)
    cases: list[tuple[dict, dict]] = [
        ({}, {}),
        ({"category": "shelter"}, {"categories": ("shelter",)}),
        ({"language": "fr"}, {"languages": ("fr",)}),
        ({"has_capacity": "true"}, {"has_capacity": True, "fresh_since": datetime.now(UTC) - timedelta(hours=12)}),
    ]
    # In autocommit, as the API reads: the raw cursor of service/platform/numbered_sql.py.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for params, query_fields in cases:
            for lat, lon in _probe_points(sites, 10, seed=extra):
                _assert_exact(connection, engine, sites, lat, lon, params, **query_fields)
    engine.dispose()


def _site_scans(plan: dict) -> list[tuple[int, int]]:
    """(loops, rows read: returned, removed by a filter or a recheck) of each of the plan's
    scans of service_site; EXPLAIN reports rows per loop."""
    scans = []
    if plan.get("Relation Name") == "service_site":
        loops = plan["Actual Loops"]
        per_loop = plan["Actual Rows"] + plan.get("Rows Removed by Filter", 0)
        scans.append((loops, (per_loop + plan.get("Rows Removed by Index Recheck", 0)) * loops))
    return scans + [scan for child in plan.get("Plans", []) for scan in _site_scans(child)]


def test_a_rare_test_reads_its_posting_list_in_the_second_pass_too(demo_database_url, sites, monkeypatch):
    """A rare test's k-th is often far, and the box around it holds most sites (800,000 of
    1M around Toronto: 0.57 s a query): its second pass reads the posting list again, so
    both passes together read no more sites than twice its matches, and a walk that proved
    its answer reads the list once. The answers stay exact."""
    from service.directory import nearest

    # k candidates: the walk can rarely prove its answer, so the second pass runs.
    monkeypatch.setattr(nearest, "candidate_count", lambda limit: limit)
    monkeypatch.setattr(nearest, "_posting_lists", _every_posting_list)  # the posting lists, whatever the statistics
    matches = sum(1 for site in sites if "pa" in site["language_codes"])  # 29 of 1,647
    engine = create_engine(demo_database_url)
    passes_run = []
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for lat, lon in _probe_points(sites, 6, seed=5):
            query = NearestQuery(lat=lat, lon=lon, languages=("pa",), max_distance_m=500_000)
            statements = nearest.nearest_statements(connection, query)
            explained = connection.execute(
                text(f"EXPLAIN (ANALYZE, FORMAT JSON) {statements.first.text}"), statements.params
            ).scalar_one()
            scans = _site_scans(explained[0]["Plan"])
            assert len(scans) == 2, scans  # the walk and the second pass: the cards come with the walk
            rows_read = sum(rows for _, rows in scans)
            passes = sum(1 for loops, _ in scans if loops)  # the second pass's scan never runs after a proof
            assert rows_read <= passes * matches, (lat, lon, scans, matches)
            passes_run.append(passes)
            _assert_exact(connection, engine, sites, lat, lon, {"language": "pa"}, languages=("pa",))
    engine.dispose()
    assert len(sites) > 10 * matches  # the box would have read more than the bound
    assert 1 in passes_run and 2 in passes_run  # walks that proved their answer, and second passes


def test_statements_stay_prepared(demo_database_url, sites):
    """Every statement's plan is the same whatever the values (the walk, or the posting lists
    of a rare test, chosen before it runs; "a bed tonight" too), so each is prepared and,
    after a few runs, runs on PostgreSQL's generic plan. All stay exact."""
    engine = create_engine(demo_database_url)
    # (statements prepared, runs on a generic plan) of nearest statements on this connection
    prepared_sql = text(
        "SELECT count(*), coalesce(sum(generic_plans), 0) FROM pg_prepared_statements "
        "WHERE statement LIKE '%public_candidates%' AND statement NOT LIKE '%pg_prepared%'"
    )
    points = _probe_points(sites, 14, seed=7)
    fresh_since = datetime.now(UTC) - timedelta(hours=12)
    # In autocommit, as the API reads: the raw cursor of service/platform/numbered_sql.py.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for lat, lon in points:
            _assert_exact(connection, engine, sites, lat, lon, {"category": "shelter"}, categories=("shelter",))
        prepared, generic_runs = connection.execute(prepared_sql).one()
        assert prepared == 1 and generic_runs > 0
        for lat, lon in points:
            _assert_exact(connection, engine, sites, lat, lon, {"age": 15}, age=15)
        prepared, generic_runs = connection.execute(prepared_sql).one()
        assert prepared == 2 and generic_runs > 0
        # "A bed tonight" too: its scans skip stale counts inside the index, whatever the values.
        for lat, lon in points:
            _assert_exact(
                connection,
                engine,
                sites,
                lat,
                lon,
                {"has_capacity": "true"},
                has_capacity=True,
                fresh_since=fresh_since,
            )
        prepared, generic_runs_after = connection.execute(prepared_sql).one()
        assert prepared == 3 and generic_runs_after > generic_runs
    engine.dispose()


def _every_posting_list(connection, query) -> tuple[str, ...]:
    return tuple(
        c for c, values in (("category_groups", query.categories), ("language_codes", query.languages)) if values
    )


@pytest.mark.parametrize("shape", ["walk", "posting lists", "every posting list"])
@pytest.mark.parametrize(
    "params", FILTER_CASES, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "no-filter"
)
def test_both_shapes_are_exact(demo_database_url, sites, monkeypatch, shape, params):
    """The KNN walk and the posting lists of a rare test give the same answer as the brute
    force, whichever the statistics pick (at 1,500 services every test is rare, and the
    rarer list alone is read; "every posting list" reads both, as a rare pair of common
    tests does)."""
    from service.directory import nearest

    monkeypatch.setattr(nearest, "RARE_MATCHES", 0 if shape == "walk" else 10**12)
    if shape == "every posting list":
        monkeypatch.setattr(nearest, "_posting_lists", _every_posting_list)
    query_fields = _query_fields(params)
    engine = create_engine(demo_database_url)
    # In autocommit, as the API reads: the raw cursor of service/platform/numbered_sql.py.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for lat, lon in _probe_points(sites, 6, seed=11):
            _assert_exact(connection, engine, sites, lat, lon, params, **query_fields)
    engine.dispose()


def _query_fields(params: dict) -> dict:
    """The NearestQuery fields of a FILTER_CASES entry (what the endpoint builds)."""
    fields: dict = {}
    if "category" in params:
        fields["categories"] = tuple(params["category"].split(","))
    if "language" in params:
        fields["languages"] = tuple(params["language"].split(","))
    if "age" in params:
        fields["age"] = params["age"]
    if "accessible" in params:
        fields["accessible"] = True
    if "has_capacity" in params:
        fields.update(has_capacity=True, fresh_since=datetime.now(UTC) - timedelta(hours=12))
    if "open_at" in params:
        fields["open_at"] = datetime.fromisoformat(params["open_at"])
    if "max_distance_m" in params:
        fields["max_distance_m"] = params["max_distance_m"]
    return fields


# Half the sites (confidential ones among them) moved to Winnipeg's time, an hour behind the
# directory's default, in a transaction the test rolls back.
_TO_WINNIPEG = text("""
    UPDATE service_site SET timezone = 'America/Winnipeg'
    WHERE id IN (SELECT id FROM service_site ORDER BY md5(id::text) LIMIT (SELECT count(*) / 2 FROM service_site))
""")
# Weekday mornings and evenings, when the demo's sites open and close (Wednesday 09:00,
# Thursday 17:30, Friday 08:45 in Toronto): there a site in Winnipeg's time, an hour behind,
# answers otherwise than it would by the default zone's clock.
_TIMEZONE_MOMENTS = ("2026-11-25T09:00:00-05:00", "2026-11-26T17:30:00-05:00", "2026-11-27T08:45:00-05:00")


def test_open_now_reads_each_site_in_its_own_timezone(demo_database_url):
    """The default timezone's week minute is computed once per statement: a site in another
    zone must still be open or closed by its own clock, in both parts, as the brute force
    reads it."""
    engine = create_engine(demo_database_url)
    with engine.connect() as connection:
        connection.execute(_TO_WINNIPEG)
        sites = [dict(r) for r in connection.execute(_SITES).mappings()]
        moved = [s for s in sites if s["timezone"] == "America/Winnipeg" and s["week_intervals"] is not None]
        assert any(s["is_private"] for s in moved), "confidential sites moved too"

        def is_open(site: dict, zone: str, moment: str) -> bool:
            intervals = [tuple(i) for i in site["week_intervals"]]
            return open_status(intervals, zone, datetime.fromisoformat(moment)).state == "open"

        for moment in _TIMEZONE_MOMENTS:
            # The case has teeth: read by the default zone's clock, some moved sites would flip.
            assert any(
                is_open(s, "America/Winnipeg", moment) != is_open(s, "America/Toronto", moment) for s in moved
            ), moment
            for params in ({"open_at": moment}, {"open_at": moment, "category": "shelter", "limit": 3}):
                fields = {**_query_fields(params), "limit": params.get("limit", 10)}
                for lat, lon in _probe_points(sites, 6, seed=len(moment)):
                    _assert_exact(connection, engine, sites, lat, lon, params, **fields)
        connection.rollback()
    engine.dispose()


def test_a_confidential_site_nearer_than_the_public_kth_is_in_the_answer(demo_database_url, sites):
    """The confidential part looks no farther than the public k-th: at a confidential cell's
    centre (its sites 0 km away, rounded) they must still come first, and in a town the
    public k-th bounds them exactly as the brute force ranks them."""
    engine = create_engine(demo_database_url)
    with engine.connect() as connection:
        centre = connection.execute(
            text(
                "SELECT ST_Y(coarse_geom), ST_X(coarse_geom) FROM service_site WHERE is_private AND status = 'active' LIMIT 1"
            )
        ).one()
        from service.directory.nearest import NearestQuery, find_nearest

        hits = find_nearest(connection, NearestQuery(lat=centre[0], lon=centre[1]))
        assert hits and hits[0].card["confidential"] and len(hits) == 10
        for lat, lon in [(centre[0], centre[1]), (centre[0] + 0.03, centre[1] - 0.04)]:
            _assert_exact(connection, engine, sites, lat, lon, {})
    engine.dispose()


def test_confidential_sites_of_a_crowded_cell_come_in_key_order(demo_server, demo_database_url, sites):
    """Confidential sites of one cell tie on distance; the second pass takes at most `limit`
    per cell, so the limit must cut each cell's ties in (service_id, location_id) order and
    still merge cells (and public sites) exactly as the brute force does."""
    per_cell = Counter(s["wkt"] for s in sites if s["is_private"] and s["status"] == "active")
    (crowded, crowd), (other, _) = per_cell.most_common(2)
    assert crowd >= 3, "the demo data set has a cell with several confidential sites"
    points = [tuple(map(float, crowded[6:-1].split())), tuple(map(float, other[6:-1].split()))]
    points.append(((points[0][0] + points[1][0]) / 2, (points[0][1] + points[1][1]) / 2))  # between two cells
    engine = create_engine(demo_database_url)
    with demo_server.client() as client:
        for lon, lat in points:
            for params in (
                {"limit": 1},
                {"limit": 2},
                {"limit": crowd - 1},
                {"limit": crowd + 3},
                {"limit": 50},
                {"limit": 2, "language": "en"},
            ):
                got = client.get("/v1/services/nearest", params={"lat": lat, "lon": lon, **params}).json()["results"]
                expected = brute_force(engine, sites, lat, lon, params)
                assert [(r["service_id"], r["location_id"]) for r in got] == [e[:2] for e in expected], (
                    lat,
                    lon,
                    params,
                )
    engine.dispose()


# Fresh free counts for "a bed tonight", set in a transaction the test rolls back: every
# count stale (the night after an outage), a few (a few dozen sites, confidential ones among
# them, as on most nights) or many (half the sites).
_ALL_STALE = text("UPDATE service_site SET capacity_as_of = now() - interval '30 days'")
_FRESHEN = text("""
    UPDATE service_site SET capacity_available = 2, capacity_as_of = now() - interval '1 hour'
    WHERE id IN (SELECT id FROM service_site
                 WHERE is_private = :private AND status = 'active' AND geom IS NOT NULL
                 ORDER BY md5(id::text) LIMIT :count)
""")
FRESH_COUNTS = {"none": (0, 0), "few": (30, 12), "many": (100_000, 100_000)}  # (public, confidential)


@pytest.mark.parametrize("fresh", list(FRESH_COUNTS))
def test_a_bed_tonight_is_exact_however_many_counts_are_fresh(demo_database_url, fresh):
    """has_capacity's scans skip stale counts inside the index (migration 0026): with none,
    a few or many counts fresh, the answer is the brute force's, confidential sites ranked
    by their cell."""
    from service.directory import nearest

    public, confidential = FRESH_COUNTS[fresh]
    engine = create_engine(demo_database_url)
    with engine.connect() as connection:
        connection.execute(_ALL_STALE)
        connection.execute(_FRESHEN, {"private": False, "count": public})
        connection.execute(_FRESHEN, {"private": True, "count": confidential})
        sites = [dict(r) for r in connection.execute(_SITES).mappings()]
        points = _probe_points(sites, 10, seed=5)
        # At the most crowded confidential cell, whose sites tie: the limit cuts them in key order.
        per_cell = Counter(s["wkt"] for s in sites if s["is_private"] and s["status"] == "active")
        lon, lat = map(float, per_cell.most_common(1)[0][0][6:-1].split())
        points.append((lat, lon))
        answered = 0
        for params in (
            {"has_capacity": "true"},
            {"has_capacity": "true", "limit": 2},
            {"has_capacity": "true", "category": "shelter", "limit": 3},
        ):
            fields = {**_query_fields(params), "limit": params.get("limit", 10)}
            for lat, lon in points:
                _assert_exact(connection, engine, sites, lat, lon, params, **fields)
                answered += bool(brute_force(engine, sites, lat, lon, params))
        assert (answered > 0) == (fresh != "none")
        if fresh == "none":
            hits = nearest.find_nearest(connection, NearestQuery(lat=points[0][0], lon=points[0][1], **fields))
            assert hits == []
        connection.rollback()
    engine.dispose()


def test_a_fresh_confidential_bed_nearer_than_the_public_kth_comes_first(demo_database_url):
    """Standing at the cell of a confidential site with a fresh free count, a few public
    fresh counts farther away: the confidential site comes first (0 km, rounded up), the
    public ones after it, exactly as the brute force ranks them."""
    from service.directory import nearest

    engine = create_engine(demo_database_url)
    with engine.connect() as connection:
        connection.execute(_ALL_STALE)
        connection.execute(_FRESHEN, {"private": False, "count": 60})
        connection.execute(_FRESHEN, {"private": True, "count": 3})
        sites = [dict(r) for r in connection.execute(_SITES).mappings()]
        fresh_since = datetime.now(UTC) - timedelta(hours=12)
        cells = [s["wkt"] for s in sites if s["is_private"] and s["capacity_as_of"] >= fresh_since]
        assert cells
        fields: dict = {"has_capacity": True, "fresh_since": fresh_since, "limit": 3}
        mixed = 0
        for wkt in cells:
            lon, lat = map(float, wkt[6:-1].split())
            hits = nearest.find_nearest(connection, NearestQuery(lat=lat, lon=lon, **fields))
            assert hits[0].card["confidential"] and hits[0].bearing_deg is None
            mixed += any(not hit.card["confidential"] for hit in hits)
            _assert_exact(connection, engine, sites, lat, lon, {"has_capacity": "true", "limit": 3}, **fields)
        assert mixed, "public fresh counts follow the confidential one somewhere"
        connection.rollback()
    engine.dispose()


@pytest.mark.parametrize(
    "params, field",
    [
        ({"lat": 91, "lon": -79}, "query.lat"),
        ({"lat": 43, "lon": -181}, "query.lon"),
        ({"lat": "north", "lon": -79}, "query.lat"),
        ({"lon": -79}, "query.lat"),
        ({"lat": 43, "lon": -79, "limit": 51}, "query.limit"),
        ({"lat": 43, "lon": -79, "limit": 0}, "query.limit"),
        ({"lat": 43, "lon": -79, "max_distance_m": 0}, "query.max_distance_m"),
        ({"lat": 43, "lon": -79, "max_distance_m": 10_000_000}, "query.max_distance_m"),
        ({"lat": 43, "lon": -79, "open_at": "tomorrow-ish"}, "query.open_at"),
        ({"lat": 43, "lon": -79, "age": -3}, "query.age"),
        ({"lat": 43, "lon": -79, "language": "12"}, "query.language"),
        ({"lat": 43, "lon": -79, "category": "shelter,unicorns"}, "query.category"),
        ({"lat": "NaN", "lon": -79}, "query.lat"),
    ],
)
def test_bad_parameters_get_problem_json(demo_server, params, field):
    with demo_server.client() as client:
        response = client.get("/v1/services/nearest", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 422 and body["type"].startswith("tag:fieldnav.org,2026:problem/")
    assert field in [e["field"] for e in body["errors"]], body


def test_unknown_category_names_the_valid_ones(demo_server):
    with demo_server.client() as client:
        body = client.get("/v1/services/nearest", params={"lat": 43, "lon": -79, "category": "unicorns"}).json()
    assert body["type"].endswith("/unknown-category") and "shelter" in body["detail"]


def test_geojson_etag_and_gzip(demo_server):
    params = {"lat": 45.4215, "lon": -75.6972, "limit": 20}
    with demo_server.client() as client:
        geo = client.get("/v1/services/nearest", params=params, headers={"Accept": "application/geo+json"})
        assert geo.headers["content-type"].startswith("application/geo+json")
        collection = geo.json()
        assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 20
        plain = client.get("/v1/services/nearest", params=params).json()
        for feature, result in zip(collection["features"], plain["results"], strict=True):
            if feature["geometry"]:
                assert feature["geometry"]["coordinates"] == [result["lon"], result["lat"]]

        raw = client.get("/v1/services/nearest", params=params, headers={"Accept-Encoding": "gzip"})
        assert raw.headers["content-encoding"] == "gzip"
        # httpx decodes the body; content-length is what crossed the wire.
        assert int(raw.headers["content-length"]) < len(raw.content) / 2

        etag = raw.headers["etag"]
        again = client.get("/v1/services/nearest", params={**params, "open_at": "2026-11-25T12:00:00-05:00"})
        assert again.status_code == 200
        cached = client.get(
            "/v1/services/nearest",
            params={**params, "open_at": "2026-11-25T12:00:00-05:00"},
            headers={"If-None-Match": again.headers["etag"]},
        )
        assert cached.status_code == 304 and cached.content == b"" and cached.headers["etag"] == again.headers["etag"]
        assert etag.startswith('W/"')


def test_empty_areas_answer_with_no_results_not_an_error(demo_server):
    with demo_server.client() as client:
        body = client.get("/v1/services/nearest", params={"lat": 55.0, "lon": -85.0, "max_distance_m": 1000}).json()
    assert body["count"] == 0 and body["results"] == []


@pytest.mark.parametrize(
    ("categories", "languages", "lists"),
    [
        ((), (), ()),
        (("shelter",), (), ()),  # 20% of a million sites: the walk
        (("legal",), ("cr",), ("language_codes",)),  # Cree alone is rare: its list only
        (("legal",), ("fr",), ("category_groups", "language_codes")),  # rare together only
        (("legal",), (), ()),  # 31,000 sites: the walk
    ],
)
def test_the_rarest_posting_list_is_read_alone_when_it_is_rare(monkeypatch, categories, languages, lists):
    """Which posting lists the statement reads, from PostgreSQL's element statistics (given
    here as ANALYZE would give them for a million sites)."""
    from service.directory import filter_stats, nearest

    stats = filter_stats.ElementStats(
        rows=1_000_000,
        fractions={
            "category_groups": {"shelter": 0.2, "legal": 0.031},
            "language_codes": {"fr": 0.05, "cr": 0.0011},
        },
        floors={"category_groups": 0.001, "language_codes": 0.0005},
    )
    monkeypatch.setattr(filter_stats, "element_stats", lambda connection: stats)
    query = nearest.NearestQuery(lat=43.65, lon=-79.38, categories=categories, languages=languages)
    assert nearest._posting_lists(None, query) == lists
