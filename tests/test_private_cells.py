"""Each process's copy of the confidential cells (service/directory/private_cells.py), which lets
nearest skip its confidential part: it never misses a cell within reach (PostGIS's geodesic
distance decides), it is never stale (the generation of migration 0029 moves with every write to
private_cell, in the writer's transaction), and nearest does skip the part where no cell is near."""

from __future__ import annotations

import math
import random
import uuid

import pytest
from sqlalchemy import create_engine, text

from service.directory import nearest, private_cells, sites
from service.platform import numbered_sql
from spatial.geodesy import box_half_sizes_deg

GENERATION = text("SELECT generation FROM private_cell_state WHERE id = 1")


@pytest.fixture(autouse=True)
def no_copies():
    """Each test starts with no copy of the cells in this process, and leaves none."""
    private_cells._copies.clear()
    yield
    private_cells._copies.clear()


@pytest.fixture
def demo_engine(demo_database_url):
    engine = create_engine(demo_database_url)
    yield engine
    engine.dispose()


def test_a_copy_never_misses_a_cell_within_reach(engine):
    """Random centres and queries from 5 m to 200 km, latitudes 42-70° (where fieldnav works):
    whenever PostGIS puts a centre within the radius on the ellipsoid, the copy says one may be
    there; and it says so only for a centre inside the confidential part's own box."""
    rng = random.Random(29)
    centres = [(rng.uniform(40.0, 72.0), rng.uniform(-141.0, -52.0)) for _ in range(400)]
    copy = private_cells.CellCentres.of(uuid.uuid4(), centres)
    queries = []
    for _ in range(1500):
        # Near a centre's circle, inside or outside: about as far from it as the radius.
        lat, lon = rng.choice(centres)
        radius_m = 10 ** rng.uniform(0.7, 5.3)
        away_m, bearing_rad = radius_m * rng.uniform(0.5, 1.5), rng.uniform(0.0, 2 * math.pi)
        lat += away_m * math.cos(bearing_rad) / 111_000
        lon += away_m * math.sin(bearing_rad) / (111_000 * math.cos(math.radians(lat)))
        queries.append((lat, lon, radius_m))
    with engine.connect() as connection:
        within = connection.execute(
            text("""
            SELECT q.n, bool_or(ST_Distance(ST_MakePoint(c.lon, c.lat)::geography,
                                            ST_MakePoint(q.lon, q.lat)::geography) <= q.radius_m)
            FROM unnest(CAST(:q_lat AS float8[]), CAST(:q_lon AS float8[]), CAST(:q_radius AS float8[]))
                 WITH ORDINALITY AS q(lat, lon, radius_m, n)
            CROSS JOIN unnest(CAST(:c_lat AS float8[]), CAST(:c_lon AS float8[])) AS c(lat, lon)
            GROUP BY q.n ORDER BY q.n
            """),
            {
                "q_lat": [q[0] for q in queries],
                "q_lon": [q[1] for q in queries],
                "q_radius": [q[2] for q in queries],
                "c_lat": [c[0] for c in centres],
                "c_lon": [c[1] for c in centres],
            },
        ).all()
    near = 0
    for (lat, lon, radius_m), (_, truly_within) in zip(queries, within, strict=True):
        says = copy.any_within(lat, lon, radius_m)
        dx_deg, dy_deg = box_half_sizes_deg(lat, radius_m)
        in_box = any(abs(c_lat - lat) <= dy_deg and abs(c_lon - lon) <= dx_deg for c_lat, c_lon in centres)
        assert says == in_box, (lat, lon, radius_m)
        if truly_within:
            assert says, (lat, lon, radius_m)
        near += truly_within
    assert 300 < near < 1200, "the queries test both answers"


def test_the_copy_looks_in_the_confidential_parts_own_box(engine):
    """The copy's box (spatial.geodesy) is the box the confidential statement reads cells from
    (nearest._half_sizes_deg, in SQL), from 1 m to 400 km, equator to the Arctic."""
    dx_sql, dy_sql = nearest._half_sizes_deg("CAST(:radius_m AS float8)")
    statement = text(f"SELECT {dx_sql}, {dy_sql}")
    with engine.connect() as connection:
        for lat in (-45.0, 0.0, 43.65, 49.0, 62.5, 74.7, 83.1):
            for radius_m in (1.0, 350.0, 4_000.0, 61_000.0, 200_000.0, 400_000.0):
                in_sql = connection.execute(statement, {"lat": lat, "radius_m": radius_m}).one()
                assert box_half_sizes_deg(lat, radius_m) == pytest.approx(tuple(in_sql), rel=1e-12), (lat, radius_m)


def test_no_cells_means_none_within_any_reach():
    empty = private_cells.CellCentres.of(uuid.uuid4(), [])
    assert not empty.any_within(43.65, -79.38, 200_000)


def test_the_generation_moves_with_every_write_in_the_writers_transaction(engine):
    """A reader sees a new generation exactly when it sees the cells that go with it: not before
    the writer commits, never after a rollback."""
    with engine.connect() as reader:
        before = reader.execute(GENERATION).scalar_one()
        reader.commit()
        with engine.connect() as writer:
            writer.execute(
                text(
                    "INSERT INTO private_cell (centre, category_groups, language_codes, population_groups) "
                    "VALUES (ST_SetSRID(ST_MakePoint(-79.4, 43.7), 4326), '{shelter}', '{en}', '{_any}')"
                )
            )
            during = writer.execute(GENERATION).scalar_one()
            assert during != before
            assert reader.execute(GENERATION).scalar_one() == before  # not committed yet
            reader.commit()
            writer.rollback()
        assert reader.execute(GENERATION).scalar_one() == before
        reader.commit()
        with engine.begin() as writer:
            writer.execute(text("DELETE FROM private_cell"))  # no row at all: still a write
        after = reader.execute(GENERATION).scalar_one()
        assert after not in (before, during)


def test_a_copy_of_another_generation_is_never_used(demo_engine):
    with demo_engine.connect() as connection:
        generation = connection.execute(GENERATION).scalar_one()
        stale = private_cells.CellCentres.of(uuid.uuid4(), [])  # no cells, of some other generation
        private_cells._copies[stale.generation] = stale
        copy = private_cells.of_generation(connection, generation)
        assert copy is not None and copy.generation == generation
        assert (
            sum(len(points) for points in copy.by_bucket.values())
            == connection.execute(text("SELECT count(*) FROM private_cell")).scalar_one()
        )
        # The cells moved on since the caller's statement: it cannot know what that one saw.
        assert private_cells.of_generation(connection, uuid.uuid4()) is None
        assert private_cells.may_be_within(connection, uuid.uuid4(), 10.0, 10.0, 1.0)
        assert private_cells.may_be_within(connection, None, 10.0, 10.0, 1.0)  # no generation row seen


@pytest.fixture
def statements_run(monkeypatch):
    """How many statements find_nearest sends (counted around numbered_sql.fetch_all, which
    runs them for real)."""
    calls: list[str] = []
    fetch_all = numbered_sql.fetch_all

    def counting(connection, statement, params, **options):
        calls.append(statement.sql)
        return fetch_all(connection, statement, params, **options)

    monkeypatch.setattr(numbered_sql, "fetch_all", counting)
    return calls


def _far_from_cells(connection) -> tuple[float, float]:
    """A public site whose 10 nearest public sites are within 5 km and no confidential cell within 30 km."""
    row = connection.execute(
        text("""
        SELECT ST_Y(s.geom), ST_X(s.geom)
        FROM service_site s
        WHERE NOT s.is_private AND s.status = 'active'
          AND NOT EXISTS (SELECT 1 FROM private_cell c WHERE ST_DWithin(c.centre::geography, s.geog, 30000))
          AND (SELECT count(*) FROM service_site o
               WHERE NOT o.is_private AND o.status = 'active' AND ST_DWithin(o.geog, s.geog, 5000)) >= 10
        ORDER BY s.id LIMIT 1
        """)
    ).one()
    return row[0], row[1]


def test_nearest_skips_the_confidential_part_only_where_no_cell_is_near(demo_engine, statements_run):
    with demo_engine.connect() as connection:
        lat, lon = _far_from_cells(connection)
        far = nearest.find_nearest(connection, nearest.NearestQuery(lat=lat, lon=lon))
        assert len(far) == 10 and not any(hit.card["confidential"] for hit in far)
        assert len(statements_run) == 1
        centre_lat, centre_lon = connection.execute(
            text("SELECT ST_Y(centre), ST_X(centre) FROM private_cell ORDER BY centre LIMIT 1")
        ).one()
        near = nearest.find_nearest(connection, nearest.NearestQuery(lat=centre_lat, lon=centre_lon))
        assert any(hit.card["confidential"] and hit.distance_m == 0 for hit in near)
        assert len(statements_run) == 3


def test_a_confidential_site_moved_next_to_the_worker_is_found_at_once(demo_engine):
    """The process's copy was read before the move: the public statement's generation shows it
    stale, and nearest finds the site where it now is (in a transaction, rolled back)."""
    with demo_engine.connect() as connection:
        transaction = connection.begin()
        try:
            _move_a_confidential_site_next_to_a_worker(connection)
        finally:
            transaction.rollback()  # the demo database is the module's, for read-only tests


def _move_a_confidential_site_next_to_a_worker(connection) -> None:
    lat, lon = _far_from_cells(connection)
    before = nearest.find_nearest(connection, nearest.NearestQuery(lat=lat, lon=lon))
    assert not any(hit.card["confidential"] for hit in before)
    moved = connection.execute(
        text("""
        UPDATE service_site SET coarse_geom = ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)
        WHERE id = (SELECT id FROM service_site WHERE is_private AND status = 'active' ORDER BY id LIMIT 1)
        RETURNING service_id::text
        """),
        {"lat": lat, "lon": lon},
    ).scalar_one()
    sites.refresh_private_cells(connection)
    after = nearest.find_nearest(connection, nearest.NearestQuery(lat=lat, lon=lon))
    found = [hit for hit in after if hit.card["confidential"]]
    assert [(hit.card["service_id"], hit.distance_m) for hit in found] == [(moved, 0.0)]
    # It takes its place among the public ones (a public site stands on the point too).
    assert [hit for hit in after if not hit.card["confidential"]] == before[:9]


# Filters whose public k-th is near and far (a rare language, a category few sites have).
SKIP_FILTERS = {
    "none": {},
    "shelter": {"categories": ("shelter",)},
    "crisis": {"categories": ("crisis",)},
    "fr": {"languages": ("fr",)},
    "age 17": {"age": 17},
}


@pytest.mark.parametrize("filter_name", list(SKIP_FILTERS))
def test_skipping_the_confidential_part_changes_no_answer(demo_engine, monkeypatch, filter_name):
    """Over points at public sites and at confidential cell centres (ties at whole km
    included), find_nearest answers as it does when the confidential part always runs."""
    with demo_engine.connect() as connection:
        points = connection.execute(
            text("""
            (SELECT ST_Y(geom), ST_X(geom) FROM service_site WHERE NOT is_private ORDER BY id LIMIT 40)
            UNION ALL
            (SELECT ST_Y(centre), ST_X(centre) FROM private_cell ORDER BY centre LIMIT 20)
            UNION ALL
            (SELECT ST_Y(centre) + 0.02, ST_X(centre) - 0.03 FROM private_cell ORDER BY centre LIMIT 20)
            """)
        ).all()
        queries = [nearest.NearestQuery(lat=lat, lon=lon, **SKIP_FILTERS[filter_name]) for lat, lon in points]
        decisions: list[bool] = []
        may_be_within = private_cells.may_be_within

        def deciding(*args):
            decisions.append(may_be_within(*args))
            return decisions[-1]

        monkeypatch.setattr(private_cells, "may_be_within", deciding)
        skipping = [nearest.find_nearest(connection, query) for query in queries]
        if filter_name in ("none", "age 17"):  # the rarer ones' public k-th is far among 1,500 services
            assert not all(decisions), "some points skip the confidential part"
        monkeypatch.setattr(private_cells, "may_be_within", lambda *args: True)
        always = [nearest.find_nearest(connection, query) for query in queries]
    assert skipping == always
    assert any(hit.card["confidential"] for hits in always for hit in hits), "the points test confidential answers"
