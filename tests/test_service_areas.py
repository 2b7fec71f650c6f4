"""Service areas as geometry (service/areas/), on a real PostGIS: extents read from GeoJSON
and WKT, bad extents reported without failing the import, named areas matched to loaded
boundaries, `fieldnav areas load`, and ``serves_geom`` checked point by point."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from shapely.geometry import Point, shape
from sqlalchemy import Engine, text

from service.areas import matching
from service.areas.serves import SIMPLIFY_TOLERANCE_DEG
from service.directory.demo_data import generate_services
from service.importer import import_path
from service.importer.pull import pull
from service.platform import migrate
from service.platform.settings import PullSettings
from tests.support.areas import (
    area,
    feature,
    polygon_json,
    service_with_areas,
    square,
    wobbly_ring,
    write_boundaries,
)
from tests.support.cli import fieldnav
from tests.support.databases import TEST_APP_ROLE
from tests.support.hsds_remote import RemoteDirectory, serve_remote
from tests.support.hsds_services import OTTAWA, TORONTO

PEMBROKE = (-77.1160, 45.8267)


def _import(engine: Engine, folder: Path, services: list[dict], source: str = "areas", **options):
    path = folder / f"{source}.json"
    path.write_text(json.dumps(services))
    return import_path(engine, path, source=source, **options)


def _areas(engine: Engine) -> dict[str, dict]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("""
            SELECT name, geom_origin, ST_GeometryType(geom) AS kind, ST_IsValid(geom) AS valid,
                   ST_Area(geom::geography) / 1e6 AS area_km2
            FROM service_area ORDER BY name
        """)
        ).mappings()
        return {row["name"]: dict(row) for row in rows}


def _served_by(engine: Engine, lon: float, lat: float) -> set[str]:
    with engine.connect() as connection:
        return set(
            connection.execute(
                text("""
                SELECT s.name FROM service_site ss JOIN service s ON s.id = ss.service_id
                WHERE ST_Covers(ss.serves_geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
            """),
                {"lon": lon, "lat": lat},
            ).scalars()
        )


def _version(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT version FROM data_version")).scalar_one()


# --------------------------------------------------------------------------- extents


def test_geojson_and_wkt_extents_become_multipolygons(engine, tmp_path):
    lon, lat = TORONTO
    ring = square(lon, lat, 0.1)
    wkt_ring = ", ".join(f"{x} {y}" for x, y in square(*OTTAWA, 0.1))
    two = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Polygon", "coordinates": [square(-80.0, 44.0, 0.05)]},
            },
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Polygon", "coordinates": [square(-81.0, 44.0, 0.05)]},
            },
        ],
    }
    services = [
        service_with_areas("geojson", lon, lat, [area("polygon", polygon_json([ring]), "geojson")]),
        service_with_areas("wkt", *OTTAWA, [area("wkt polygon", f"POLYGON (({wkt_ring}))", "wkt")]),
        service_with_areas(
            "multi",
            -80.0,
            44.0,
            [area("untyped multipolygon", "MULTIPOLYGON (((-80 44, -79.9 44, -79.9 44.1, -80 44.1, -80 44)))", None)],
        ),
        service_with_areas("collection", -80.0, 44.0, [area("collection", json.dumps(two), "geojson")]),
        service_with_areas(
            "feature",
            -79.0,
            44.0,
            [
                area(
                    "feature",
                    json.dumps({"type": "Feature", "geometry": json.loads(polygon_json([square(-79, 44, 0.02)]))}),
                    "GeoJSON",
                )
            ],
        ),
        service_with_areas("no extent", -79.0, 44.5, [area(None)]),
    ]
    report = _import(engine, tmp_path, services)
    assert [str(p) for p in report.problems] == []

    areas = _areas(engine)
    for name in ("polygon", "wkt polygon", "untyped multipolygon", "collection", "feature"):
        assert areas[name]["geom_origin"] == "extent", name
        assert areas[name]["kind"] == "ST_MultiPolygon", name
        assert areas[name]["valid"], name
    assert areas["collection"]["area_km2"] == pytest.approx(2 * areas["feature"]["area_km2"] * 6.25, rel=0.05)
    assert _served_by(engine, lon + 0.05, lat + 0.05) == {"geojson"}
    assert _served_by(engine, OTTAWA[0] - 0.05, OTTAWA[1]) == {"wkt"}
    assert _served_by(engine, -81.0, 44.0) == {"collection"}
    assert _served_by(engine, -79.97, 44.03) == {"multi", "collection"}
    assert _served_by(engine, lon + 0.2, lat) == set()
    with engine.connect() as connection:
        unknown = connection.execute(
            text(
                "SELECT ss.serves_geom IS NULL FROM service_site ss JOIN service s ON s.id = ss.service_id WHERE s.name = 'no extent'"
            )
        ).scalar_one()
    assert unknown  # no area with a known shape: unknown, not "serves nobody"


def test_bad_extents_are_reported_and_the_import_goes_on(engine, tmp_path):
    lon, lat = TORONTO
    bowtie = polygon_json([[[lon, lat], [lon + 0.1, lat + 0.1], [lon + 0.1, lat], [lon, lat + 0.1], [lon, lat]]])
    garbage = "{" + "".join(random.Random(7).choice('{}[],:"abc0123 POLYGON') for _ in range(10_000))
    services = [
        service_with_areas(
            "bad json", lon, lat, [area("bad json", '{"type": "Polygon", "coordinates": [[[0, 0], ', "geojson")]
        ),
        service_with_areas(
            "point", lon, lat, [area("point", '{"type": "Point", "coordinates": [-79.4, 43.7]}', "geojson")]
        ),
        service_with_areas("line", lon, lat, [area("line", "LINESTRING (-79 43, -78 44)", "wkt")]),
        service_with_areas("bowtie", lon, lat, [area("bowtie", bowtie, "geojson")]),
        service_with_areas(
            "out of range", lon, lat, [area("out of range", polygon_json([square(200.0, 95.0, 1.0)]), "geojson")]
        ),
        service_with_areas(
            "projected",
            lon,
            lat,
            [area("projected", "POLYGON ((630000 4830000, 640000 4830000, 640000 4840000, 630000 4830000))", "wkt")],
        ),
        service_with_areas("garbage", lon, lat, [area("garbage", garbage, "geojson")]),
        service_with_areas("text", lon, lat, [area("text", "all of Renfrew County", "geojson")]),
        service_with_areas("kml", lon, lat, [area("kml", "<Polygon><outerBoundaryIs/></Polygon>", "kml")]),
    ]
    report = _import(engine, tmp_path, services)

    assert report.counts["service"] == len(services)  # nothing skipped: the areas are kept, their shapes dropped
    extent_problems = [p for p in report.problems if p.field.endswith(".extent")]
    assert all(p.action == "value dropped" for p in extent_problems)
    reasons = {p.row: p.reason for p in extent_problems}
    by_service = {s["name"]: i + 1 for i, s in enumerate(services)}  # a JSON list: record number = position
    assert "not valid GeoJSON" in reasons[by_service["bad json"]]
    assert "point, not an area" in reasons[by_service["point"]]
    assert "linestring, not an area" in reasons[by_service["line"]]
    assert "out of range" in reasons[by_service["out of range"]]
    assert "out of range" in reasons[by_service["projected"]]
    assert "not valid GeoJSON" in reasons[by_service["garbage"]]
    assert "neither GeoJSON nor WKT" in reasons[by_service["text"]]
    assert "neither GeoJSON nor WKT" in reasons[by_service["kml"]]
    assert by_service["bowtie"] not in reasons  # self-intersecting: made valid, kept
    assert all(p.field == "service.service_areas[0].extent" and p.file == "areas.json" for p in extent_problems)
    assert all(len(str(p)) < 300 for p in report.problems)  # a reason, never the extent
    assert len(report.problems) == len(extent_problems)  # a bad extent's name is not reported again

    areas = _areas(engine)
    assert areas["bowtie"]["geom_origin"] == "extent" and areas["bowtie"]["valid"]
    assert areas["bowtie"]["kind"] == "ST_MultiPolygon"
    for name in ("bad json", "point", "line", "out of range", "projected", "garbage", "text", "kml"):
        assert areas[name]["geom_origin"] is None, name
    assert _served_by(engine, lon + 0.01, lat + 0.05) == {"bowtie"}  # one of its two triangles
    assert _served_by(engine, lon + 0.05, lat + 0.01) == set()  # between them


def test_a_bad_extent_does_not_refuse_a_strict_import(engine, tmp_path):
    """HSDS's extent is free text: the row is valid; fieldnav reports that it cannot use it."""
    services = [
        service_with_areas("point", *TORONTO, [area("point", '{"type": "Point", "coordinates": [1, 2]}', "geojson")])
    ]
    report = _import(engine, tmp_path, services, strict=True)
    assert [p.reason for p in report.problems] == ["extent is a point, not an area"]
    assert report.counts["service"] == 1


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ("Renfrew County", "renfrew county"),
        ("  renfrew   COUNTY ", "renfrew county"),
        ("County of Renfrew", "renfrew county"),
        ("Comté de Renfrew", "renfrew county"),
        ("City of Pembroke", "pembroke"),
        ("Town of Renfrew", "renfrew"),
        ("Township of Laurentian Valley", "laurentian valley"),
        ("Ville de Pembroke", "pembroke"),
        ("Ville d'Ottawa", "ottawa"),
        ("Canton de Russell", "russell"),
        ("Regional Municipality of Waterloo", "waterloo region"),
        ("Région de Waterloo", "waterloo region"),
        ("Montréal", "montreal"),
        ("Sault Ste. Marie", "sault ste marie"),
        ("Sault-Ste-Marie", "sault ste marie"),
        ("k8a", "K8A"),
        ("K8A", "K8A"),
        ("k 8 a", "K8A"),
        ("K8A 1A1", "K8A1A1"),
        ("", ""),
    ],
)
def test_name_keys(given, key):
    assert matching.name_key(given) == key


def test_named_areas_match_loaded_boundaries_exactly(engine, tmp_path):
    boundaries = write_boundaries(
        tmp_path / "b.geojson",
        [
            feature("Renfrew County", {"type": "Polygon", "coordinates": [square(-77.2, 45.6, 0.5)]}, kind="county"),
            feature("Pembroke", {"type": "Polygon", "coordinates": [square(*PEMBROKE, 0.03)]}, kind="city"),
            feature("Renfrew", {"type": "Polygon", "coordinates": [square(-76.68, 45.47, 0.03)]}, kind="town"),
            feature("K8A", {"type": "Polygon", "coordinates": [square(-77.10, 45.83, 0.04)]}),
        ],
    )
    assert (
        fieldnav(str(engine.url.render_as_string(hide_password=False)), "areas", "load", str(boundaries)).returncode
        == 0
    )
    lon, lat = PEMBROKE
    services = [
        service_with_areas("county", lon, lat, [area("renfrew county")]),
        service_with_areas("county reordered", lon, lat, [area("County of Renfrew")]),
        service_with_areas("city prefixed", lon, lat, [area("City of Pembroke")]),
        service_with_areas("town", lon, lat, [area("Town of Renfrew")]),
        service_with_areas("fsa", lon, lat, [area("k8a")]),
        service_with_areas("province", lon, lat, [area("Province of Ontario")]),
        service_with_areas("by description", lon, lat, [area(None, description="Pembroke")]),
        service_with_areas("nowhere 1", lon, lat, [area("Nowhere Township")]),
        service_with_areas("nowhere 2", lon, lat, [area("nowhere township", uri="x")]),
        service_with_areas("similar only", lon, lat, [area("Pembrok")]),
    ]
    report = _import(engine, tmp_path, services)

    areas = _areas(engine)
    for name in (
        "renfrew county",
        "County of Renfrew",
        "City of Pembroke",
        "Town of Renfrew",
        "k8a",
        "Province of Ontario",
    ):
        assert areas[name]["geom_origin"] == "named", name
    assert areas["renfrew county"]["area_km2"] == pytest.approx(areas["County of Renfrew"]["area_km2"])
    assert areas["Town of Renfrew"]["area_km2"] < areas["renfrew county"]["area_km2"] / 100  # the town, not the county
    assert areas["Pembrok"]["geom_origin"] is None  # exact normal forms only
    unmatched = [p for p in report.problems if "is not in the boundaries" in p.reason]
    assert sorted(p.reason for p in unmatched) == [
        "named area 'Nowhere Township' is not in the boundaries: `fieldnav areas load`",
        "named area 'Pembrok' is not in the boundaries: `fieldnav areas load`",
    ]  # once per name in an import, however many services give it
    assert all(p.action == "value kept" for p in unmatched)
    served = _served_by(engine, lon, lat)
    assert served >= {"county", "county reordered", "city prefixed", "fsa", "province", "by description"}
    assert "town" not in served and "nowhere 1" not in served


def test_the_default_boundary_is_ontario_and_the_app_role_reads_it(engine):
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT name, kind, aliases, ST_IsValid(geom) AS valid, ST_Area(geom::geography) / 1e6 AS km2 FROM area_boundary"
            )
        ).one()
        assert (row.name, row.kind, row.valid) == ("Ontario", "province", True)
        assert row.aliases == ["ON", "Province of Ontario", "Ontario (province)"]
        assert 800_000 < row.km2 < 1_200_000  # Ontario: 1.08 million km² (the outline leaves the Great Lakes out)
        assert connection.execute(
            text("SELECT has_table_privilege(:role, 'area_boundary', 'SELECT')"), {"role": TEST_APP_ROLE}
        ).scalar_one()
        assert not connection.execute(
            text("SELECT has_table_privilege(:role, 'area_boundary', 'INSERT')"), {"role": TEST_APP_ROLE}
        ).scalar_one()


# --------------------------------------------------------------------------- fieldnav areas load


def test_areas_load_reports_bad_features_and_rematches(engine, database_url, tmp_path):
    lon, lat = PEMBROKE
    _import(engine, tmp_path, [service_with_areas("pembroke only", lon, lat, [area("Pembroke")])])
    with engine.connect() as connection:
        assert connection.execute(text("SELECT serves_geom IS NULL FROM service_site")).scalar_one()
    before = _version(engine)

    good = feature(
        "Pembroke", {"type": "Polygon", "coordinates": [square(lon, lat, 0.03)]}, kind="city", aliases=["Pembroke, ON"]
    )
    path = write_boundaries(
        tmp_path / "b.geojson",
        [
            good,
            feature(None, {"type": "Polygon", "coordinates": [square(lon, lat, 0.03)]}),
            feature("A point", {"type": "Point", "coordinates": [lon, lat]}),
            feature("Broken", {"type": "Polygon", "coordinates": [[[0, 0], [1]]]}),
        ],
    )
    loaded = fieldnav(database_url, "areas", "load", str(path))
    assert loaded.returncode == 0, loaded.stderr
    assert "feature 1: no name" in loaded.stderr
    assert "feature 2 (A point): the geometry is a point, not an area" in loaded.stderr
    assert "feature 3 (Broken)" in loaded.stderr
    assert "loaded 1 boundaries, 3 features left out; 1 services' areas changed" in loaded.stdout

    assert _served_by(engine, lon, lat) == {"pembroke only"}
    assert _version(engine) == before + 1
    with engine.connect() as connection:
        logged = connection.execute(
            text("SELECT s.name, c.op FROM change_log c JOIN service s ON s.id = c.service_id WHERE c.version = :v"),
            {"v": before + 1},
        ).all()
    assert [tuple(r) for r in logged] == [("pembroke only", "upsert")]

    listed = fieldnav(database_url, "areas", "list")
    assert listed.returncode == 0, listed.stderr
    assert "city: Pembroke (also Pembroke, ON)" in listed.stdout
    assert "province: Ontario" in listed.stdout
    assert "service areas: 0 from their extent, 1 by name, 0 unknown" in listed.stdout

    # The same file again: nothing changes, the data version stays.
    assert fieldnav(database_url, "areas", "load", str(path)).returncode == 0
    assert _version(engine) == before + 1

    # --replace: Pembroke's boundary (and Ontario's) gone; the area is unknown again.
    other = write_boundaries(
        tmp_path / "c.geojson", [feature("Renfrew", {"type": "Polygon", "coordinates": [square(-76.68, 45.47, 0.03)]})]
    )
    replaced = fieldnav(database_url, "areas", "load", "--replace", str(other))
    assert replaced.returncode == 0, replaced.stderr
    assert "named area 'Pembroke' is not in the boundaries" in replaced.stderr
    assert _served_by(engine, lon, lat) == set()
    assert _version(engine) == before + 2


def test_a_file_with_no_good_feature_is_refused(engine, database_url, tmp_path):
    before = _version(engine)
    path = write_boundaries(
        tmp_path / "b.geojson", [feature("A point", {"type": "Point", "coordinates": [-77, 45]}), feature(None, None)]
    )
    refused = fieldnav(database_url, "areas", "load", "--replace", str(path))
    assert refused.returncode == 2
    assert "nothing was loaded" in refused.stderr and "feature 0 (A point)" in refused.stderr
    (tmp_path / "junk.geojson").write_text("not json")
    assert fieldnav(database_url, "areas", "load", str(tmp_path / "junk.geojson")).returncode == 2
    with engine.connect() as connection:
        assert connection.execute(text("SELECT array_agg(name) FROM area_boundary")).scalar_one() == ["Ontario"]
    assert _version(engine) == before


# --------------------------------------------------------------------------- point in polygon


def test_serves_geom_agrees_with_the_polygons_point_by_point(engine, tmp_path):
    """Random points over Ontario, and points close to the shapes' edges: ST_Covers(serves_geom,
    point) is what a point-in-polygon test over the original, unsimplified polygons says
    (shapely), except within the simplification tolerance of a boundary."""
    rng = random.Random(19)
    services, shapes = [], {}
    for i in range(6):
        lon, lat = rng.uniform(-83, -76), rng.uniform(43, 46.5)
        # 2,000 points with a zigzag finer than the tolerance: simplification has work to do.
        extent = {"type": "Polygon", "coordinates": [wobbly_ring(lon, lat, rng.uniform(0.3, 1.2), 2000, i)]}
        name = f"jagged {i}"
        services.append(service_with_areas(name, lon, lat, [area(name, json.dumps(extent), "geojson")]))
        shapes[name] = shape(extent)
    services.append(service_with_areas("province wide", -79.0, 44.0, [area("Ontario")]))
    default_file = Path(__file__).resolve().parents[1] / "service" / "data" / "default_boundaries.geojson"
    shapes["province wide"] = shape(json.loads(default_file.read_text())["features"][0]["geometry"])
    _import(engine, tmp_path, services)

    points = [(rng.uniform(-84, -75), rng.uniform(42.5, 47.5)) for _ in range(400)]
    for polygon in shapes.values():  # and close to every edge, both sides
        ring = list(polygon.geoms[0].exterior.coords if hasattr(polygon, "geoms") else polygon.exterior.coords)
        for x, y in rng.sample(ring, 40):
            points.append((x + rng.uniform(-0.003, 0.003), y + rng.uniform(-0.003, 0.003)))
    with engine.connect() as connection:
        covered = connection.execute(
            text("""
            SELECT p.n, s.name
            FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) WITH ORDINALITY AS p(lon, lat, n)
            JOIN service_site ss ON ST_Covers(ss.serves_geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))
            JOIN service s ON s.id = ss.service_id
        """),
            {"lons": [p[0] for p in points], "lats": [p[1] for p in points]},
        ).all()
    said = {(n - 1, name) for n, name in covered}
    disagreements, near_edge, inside = [], 0, 0
    for index, (lon, lat) in enumerate(points):
        point = Point(lon, lat)
        for name, polygon in shapes.items():
            truth = polygon.covers(point)
            inside += truth
            if truth == ((index, name) in said):
                continue
            if polygon.boundary.distance(point) <= SIMPLIFY_TOLERANCE_DEG + 1e-9:
                near_edge += 1
                continue
            disagreements.append((name, lon, lat, truth))
    assert disagreements == []
    assert 100 < inside < len(points) * len(shapes) - 100  # both answers were checked
    assert near_edge < len(points) // 20
    with engine.connect() as connection:
        simplified = connection.execute(
            text("""
            SELECT max(ST_NPoints(ss.serves_geom)) FROM service_site ss JOIN service s ON s.id = ss.service_id
            WHERE s.name LIKE 'jagged%'
        """)
        ).scalar_one()
    assert simplified < 1000  # 2,000 points each before


# --------------------------------------------------------------------------- demo data


def test_some_demo_services_have_areas_that_show(engine, tmp_path):
    services = list(generate_services(300, 3))
    with_extent = [s for s in services if any(a.get("extent") for a in s.get("service_areas", []))]
    named = [s for s in services if any(a.get("name") == "Ontario" for a in s.get("service_areas", []))]
    assert 0.12 * len(services) < len(with_extent) < 0.3 * len(services)
    assert 0.01 * len(services) < len(named) < 0.1 * len(services)
    assert all("demo" in a["description"].lower() for s in with_extent for a in s["service_areas"])
    report = _import(engine, tmp_path, services, source="demo")
    assert [p for p in report.problems if "service_area" in p.field] == []
    with engine.connect() as connection:
        shaped = connection.execute(
            text("SELECT count(DISTINCT service_id) FROM service_site WHERE serves_geom IS NOT NULL")
        ).scalar_one()
    assert shaped == len(with_extent) + len(named)
    for service in with_extent[:5]:
        site = service["service_at_locations"][0]["location"]
        assert service["name"] in _served_by(engine, site["longitude"], site["latitude"])


# --------------------------------------------------------------------------- pulls


def test_a_pull_reads_extents_and_names_the_page_of_a_bad_one(engine):
    lon, lat = TORONTO
    services = [
        service_with_areas(
            f"pulled {i}",
            lon + i / 100,
            lat,
            [area(f"pulled {i}", polygon_json([square(lon + i / 100, lat, 0.004)]), "geojson")],
        )
        for i in range(5)
    ]
    services[3]["service_areas"] = [area("pulled point", '{"type": "Point", "coordinates": [-79.4, 43.7]}', "geojson")]
    settings = PullSettings(
        page_size=2, chunk_services=2, timeout_s=5, max_attempts=2, backoff_base_s=0.01, backoff_max_s=1
    )
    with serve_remote(RemoteDirectory(services)) as remote:
        report = pull(engine, remote.base_url, source="pulled", settings=settings)
    assert report.imported is not None
    problems = [str(p) for p in report.imported.problems]
    assert problems == [
        "/services page 2 row 2, service.service_areas[0].extent: extent is a point, not an area (value dropped)"
    ]
    assert _served_by(engine, lon + 0.04, lat) == {"pulled 4"}
    assert _served_by(engine, lon + 0.03, lat) == set()


def test_rebuilding_the_sites_keeps_their_shapes(engine, database_url, tmp_path):
    """`fieldnav db migrate` and `db rebuild-sites` rebuild every site: each takes its shape
    as it is written."""
    lon, lat = TORONTO
    _import(
        engine,
        tmp_path,
        [service_with_areas("kept", lon, lat, [area("kept", polygon_json([square(lon, lat, 0.1)]), "geojson")])],
    )
    migrate.rebuild_derived(engine)
    assert _served_by(engine, lon + 0.05, lat) == {"kept"}
