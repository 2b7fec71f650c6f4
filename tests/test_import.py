"""`fieldnav import` on a real PostGIS: the Miami 211 export, the HSDS 3.0 examples, bad
rows, one-transaction failures, idempotent re-imports and tombstones."""

from __future__ import annotations

import csv
import itertools
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import text

from service.importer import ImportRefused, import_path

MIAMI_ZIP = "hsds-miami-2019/open211-miami-hsds1.zip"

# Stable snapshot of everything an import may touch, to prove "left exactly as it was".
SNAPSHOT_SQL = """
SELECT (SELECT version FROM data_version),
       (SELECT count(*) FROM change_log),
       (SELECT coalesce(string_agg(id::text || content_hash, ',' ORDER BY id), '') FROM service),
       (SELECT count(*) FROM location), (SELECT count(*) FROM schedule), (SELECT count(*) FROM import_run)
"""


def snapshot(engine) -> tuple:
    with engine.connect() as connection:
        return tuple(connection.execute(text(SNAPSHOT_SQL)).one())


def scalar(engine, query: str, **params):
    with engine.connect() as connection:
        return connection.execute(text(query), params).scalar_one()


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def small_package(folder: Path, services: int = 3) -> Path:
    """A small HSDS 3 tabular package with non-UUID ids (so uuid5 mapping is exercised)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(
        folder / "organizations.csv", [{"id": "org-1", "name": "Kingston Community Health", "description": "CHC"}]
    )
    write_csv(
        folder / "services.csv",
        [
            {
                "id": f"svc-{i}",
                "organization_id": "org-1",
                "name": f"Service {i}",
                "status": "active",
                "minimum_age": "16" if i == 1 else "",
            }
            for i in range(1, services + 1)
        ],
    )
    write_csv(
        folder / "locations.csv",
        [
            {
                "id": f"loc-{i}",
                "organization_id": "org-1",
                "name": f"Site {i}",
                "location_type": "physical",
                "latitude": f"{44.23 + i / 1000:.5f}",
                "longitude": f"{-76.48 - i / 1000:.5f}",
            }
            for i in range(1, services + 1)
        ],
    )
    write_csv(
        folder / "service_at_location.csv",
        [{"id": f"sal-{i}", "service_id": f"svc-{i}", "location_id": f"loc-{i}"} for i in range(1, services + 1)],
    )
    write_csv(
        folder / "schedules.csv",
        [
            {
                "id": f"sch-{i}",
                "service_id": f"svc-{i}",
                "freq": "WEEKLY",
                "byday": "MO,TU,WE,TH,FR",
                "opens_at": "09:00",
                "closes_at": "17:00",
            }
            for i in range(1, services + 1)
        ],
    )
    write_csv(folder / "taxonomy_terms.csv", [{"id": "t-shelter", "code": "BH-1800.8500", "name": "Homeless Shelter"}])
    write_csv(
        folder / "attributes.csv",
        [{"id": "a-1", "link_id": "svc-1", "link_entity": "service", "taxonomy_term_id": "t-shelter"}],
    )
    return folder


# --- the real data sets -------------------------------------------------------------------


def test_miami_export_imports_with_its_counts(engine, shared_data):
    report = import_path(engine, shared_data / MIAMI_ZIP, source="miami")

    assert report.format == "hsds-1-tabular"
    assert scalar(engine, "SELECT count(*) FROM service") == 4089
    assert scalar(engine, "SELECT count(*) FROM location") == 4089
    assert scalar(engine, "SELECT count(*) FROM location WHERE geom IS NOT NULL") == 2260
    assert scalar(engine, "SELECT count(*) FROM location WHERE geom IS NOT NULL AND h3_r9 IS NULL") == 0
    # Locations without coordinates are kept (you can still call them) but not on the map.
    assert scalar(engine, "SELECT count(*) FROM location WHERE geom IS NULL") == 4089 - 2260
    assert scalar(engine, "SELECT count(*) FROM organization") == 1074
    assert scalar(engine, "SELECT count(*) FROM schedule") > 11000
    # AIRS codes reached the category groups through the data file.
    assert scalar(engine, "SELECT count(*) FROM service WHERE 'shelter' = ANY(category_groups)") > 20
    assert scalar(engine, "SELECT count(*) FROM service WHERE 'food' = ANY(category_groups)") > 50
    assert scalar(engine, "SELECT count(*) FROM language WHERE code = 'es'") > 1000
    # The export's eligibility rows carry no service id: reported with file and row.
    eligibility = [p for p in report.problems if p.file == "eligibility.csv"]
    assert eligibility and eligibility[0].row == 2 and eligibility[0].field == "service_id"
    assert "4089 services" in report.summary_line() and "2260 on the map" in report.summary_line()
    assert report.upserted == 4089 and report.data_version == 1


def test_miami_ids_are_stable_uuid5(engine, shared_data):
    import_path(engine, shared_data / MIAMI_ZIP, source="miami")
    from service.importer.values import stable_id

    expected = stable_id("miami", "service", "136")
    assert scalar(engine, "SELECT name FROM service WHERE id = :id", id=expected).startswith("GIRL SCOUTS")
    assert scalar(engine, "SELECT source_id FROM service WHERE id = :id", id=expected) == "136"


@pytest.mark.parametrize(
    "example",
    ["csv", "service_full.json", "service_list.json", "organization_full.json", "service_at_location_full.json"],
)
def test_hsds_3_examples_import(engine, shared_data, example):
    report = import_path(engine, shared_data / "hsds-3.0" / "examples" / example, source="examples")
    assert scalar(engine, "SELECT count(*) FROM service") == 1
    assert scalar(engine, "SELECT name FROM service") == "Community Counselling"
    if example != "service_list.json":  # the list example holds services without locations
        assert scalar(engine, "SELECT count(*) FROM location") == 1
        # The example's (100, 101) is not a place: kept, off the map, reported.
        assert scalar(engine, "SELECT count(*) FROM location WHERE geom IS NULL") == 1
        assert any("latitude" in p.field and p.action == "value dropped" for p in report.problems)


def test_ndjson_and_zip_forms(engine, tmp_path, shared_data):
    service = json.loads((shared_data / "hsds-3.0/examples/service_full.json").read_text())
    second = json.loads(
        json.dumps(service).replace("ac148810-d857-441c-9679-408f346de14b", "0f7a2b0c-1111-4222-8333-944455556666")
    )
    second["name"] = "Second Counselling"
    ndjson = tmp_path / "services.ndjson"
    ndjson.write_text(json.dumps(service) + "\n\n" + json.dumps(second) + "\n")
    report = import_path(engine, ndjson, source="nd")
    assert report.counts["service"] == 2

    package = small_package(tmp_path / "pkg")
    archive = tmp_path / "pkg.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for file in package.iterdir():
            zipped.write(file, f"export/{file.name}")
    report = import_path(engine, archive, source="zipped")
    assert report.format == "hsds-3-tabular" and report.counts["service"] == 3


def test_fieldnav_extensions_from_json(engine, tmp_path):
    from service.directory.demo_data import generate_services

    services = list(generate_services(300, seed=7))
    path = tmp_path / "demo.json"
    path.write_text(json.dumps(services))
    report = import_path(engine, path, source="demo")
    assert report.counts["service"] == 300 and not [p for p in report.problems if p.action == "row skipped"]
    private = sum(
        1 for s in services for sal in s.get("service_at_locations", []) if sal["location"].get("address_private")
    )
    assert private > 0
    assert scalar(engine, "SELECT count(*) FROM location WHERE address_private") == private
    assert scalar(engine, "SELECT count(*) FROM service_capacity") > 0
    assert (
        scalar(
            engine, "SELECT count(*) FROM service_capacity sc JOIN unit u ON u.id = sc.unit_id WHERE u.name = 'beds'"
        )
        > 0
    )


PRIVATE_CELLS_FROM_SITES = """
SELECT ST_AsText(s.coarse_geom) AS centre,
       (SELECT array_agg(DISTINCT g ORDER BY g) FROM service_site t, unnest(t.category_groups) g
        WHERE t.is_private AND t.coarse_geom = s.coarse_geom) AS groups,
       (SELECT array_agg(DISTINCT l ORDER BY l) FROM service_site t, unnest(t.language_codes) l
        WHERE t.is_private AND t.coarse_geom = s.coarse_geom) AS languages
FROM service_site s WHERE s.is_private AND s.coarse_geom IS NOT NULL GROUP BY s.coarse_geom ORDER BY 1
"""


def test_private_cells_follow_every_import_of_every_source(engine, tmp_path):
    """Nearest skips a confidential cell whose summary lacks the groups asked for, so the
    summary must be exactly what the cell's sites offer after each import, including a
    re-import that takes services away."""
    from service.directory.demo_data import generate_services

    def import_demo(count: int, seed: int, source: str) -> None:
        path = tmp_path / f"{source}-{count}.json"
        path.write_text(json.dumps(list(generate_services(count, seed=seed))))
        import_path(engine, path, source=source)

    def cells() -> list[tuple]:
        with engine.connect() as connection:
            return [
                tuple(r)
                for r in connection.execute(
                    text("SELECT ST_AsText(centre), category_groups, language_codes FROM private_cell ORDER BY 1")
                ).all()
            ]

    def expected() -> list[tuple]:
        with engine.connect() as connection:
            return [tuple(r) for r in connection.execute(text(PRIVATE_CELLS_FROM_SITES)).all()]

    import_demo(600, 21, "demo")
    full = cells()
    assert full == expected() and len(full) >= 5
    import_demo(80, 22, "demo")  # most services gone, the rest changed
    assert cells() == expected()
    assert len(cells()) < len(full)


def test_sites_are_stored_near_their_neighbours(engine, tmp_path):
    """A nearest-first walk reads the heap pages of the sites it passes: rows written in
    geohash order put neighbours on the same pages (sites.py, _SITES_SQL). COPY may put a
    small later row in the space left at the end of an earlier page, so the order is
    nearly, not strictly, kept; unordered rows would break it every other row."""
    from service.directory.demo_data import generate_services

    path = tmp_path / "demo.json"
    path.write_text(json.dumps(list(generate_services(400, seed=31))))
    import_path(engine, path, source="demo")
    with engine.connect() as connection:
        stored = (
            connection.execute(text("SELECT ST_GeoHash(geom) FROM service_site WHERE geom IS NOT NULL ORDER BY ctid"))
            .scalars()
            .all()
        )
    assert len(stored) >= 400
    steps_back = sum(1 for before, after in itertools.pairwise(stored) if after < before)
    assert steps_back <= len(stored) * 0.05


# --- bad rows -----------------------------------------------------------------------------


def test_bad_rows_are_reported_with_file_row_field_and_reason(engine, tmp_path):
    package = small_package(tmp_path / "pkg")
    rows = list(csv.DictReader((package / "schedules.csv").open()))
    rows[1]["opens_at"] = "half past nine"  # row 3 of the file (header is row 1)
    write_csv(package / "schedules.csv", rows)
    services = list(csv.DictReader((package / "services.csv").open()))
    services[2]["minimum_age"] = "sixteen"  # row 4
    write_csv(package / "services.csv", services)

    report = import_path(engine, package, source="bad")

    by_place = {(p.file, p.row, p.field): p for p in report.problems}
    assert ("schedules.csv", 3, "opens_at") in by_place
    assert "not a time of day" in by_place[("schedules.csv", 3, "opens_at")].reason
    assert ("services.csv", 4, "minimum_age") in by_place
    # Default: bad rows are skipped, the rest lands; the skipped service's children too.
    assert scalar(engine, "SELECT count(*) FROM service") == 2
    assert scalar(engine, "SELECT count(*) FROM schedule") == 1
    assert any(p.file == "schedules.csv" and p.row == 4 and p.field == "service_id" for p in report.problems)
    assert "rows skipped" in report.summary_line()


def test_strict_refuses_the_whole_import(engine, tmp_path):
    package = small_package(tmp_path / "pkg")
    rows = list(csv.DictReader((package / "locations.csv").open()))
    rows[0]["latitude"] = "north"
    write_csv(package / "locations.csv", rows)
    before = snapshot(engine)
    with pytest.raises(ImportRefused) as refused:
        import_path(engine, package, source="strict", strict=True)
    assert any(p.file == "locations.csv" and p.row == 2 and p.field == "latitude" for p in refused.value.problems)
    assert snapshot(engine) == before


def test_unreadable_sources_are_refused_clearly(engine, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImportRefused, match="no HSDS tables"):
        import_path(engine, tmp_path / "empty")
    broken = small_package(tmp_path / "latin1")
    (broken / "services.csv").write_bytes("id,name\nsvc-1,Caf\xe9\n".encode("latin-1"))
    with pytest.raises(ImportRefused, match="not UTF-8"):
        import_path(engine, broken)
    with pytest.raises(ImportRefused, match="no such file"):
        import_path(engine, tmp_path / "missing.zip")


# --- transactions, idempotence, tombstones -----------------------------------------------


def test_failing_import_leaves_prior_data_untouched(engine, tmp_path, shared_data):
    import_path(engine, small_package(tmp_path / "first"), source="first")
    before = snapshot(engine)
    # A second source reusing the first one's UUIDs fails inside the transaction, after
    # its deletes and some inserts have run: everything must roll back.
    service = json.loads((shared_data / "hsds-3.0/examples/service_full.json").read_text())
    import_path(engine, _as_file(tmp_path / "a.json", service), source="examples-a")
    before = snapshot(engine)
    with pytest.raises(ImportRefused, match="already belongs to another source"):
        import_path(engine, _as_file(tmp_path / "b.json", service), source="examples-b")
    assert snapshot(engine) == before


def _as_file(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj))
    return path


def test_reimport_is_idempotent(engine, tmp_path):
    package = small_package(tmp_path / "pkg")
    first = import_path(engine, package, source="kingston")
    after_first = snapshot(engine)
    second = import_path(engine, package, source="kingston")
    assert first.upserted == 3 and second.upserted == 0 and second.deleted == 0
    assert second.data_version == first.data_version
    # Same rows, same ids, same version; only the import run is recorded again.
    assert snapshot(engine)[:5] == after_first[:5]


def test_a_changed_record_is_logged_once(engine, tmp_path):
    package = small_package(tmp_path / "pkg")
    import_path(engine, package, source="kingston")
    rows = list(csv.DictReader((package / "schedules.csv").open()))
    rows[0]["closes_at"] = "20:00"
    write_csv(package / "schedules.csv", rows)
    report = import_path(engine, package, source="kingston")
    assert report.upserted == 1 and report.deleted == 0
    assert scalar(engine, "SELECT count(*) FROM change_log WHERE version = :v", v=report.data_version) == 1


def test_a_removed_record_becomes_a_tombstone(engine, tmp_path):
    package = small_package(tmp_path / "pkg", services=3)
    import_path(engine, package, source="kingston")
    from service.importer.values import stable_id

    removed_id = stable_id("kingston", "service", "svc-3")
    shutil.rmtree(package)
    small_package(package, services=2)
    report = import_path(engine, package, source="kingston")

    assert report.deleted == 1 and report.upserted == 0
    assert scalar(engine, "SELECT count(*) FROM service WHERE id = :id", id=removed_id) == 0
    assert scalar(engine, "SELECT count(*) FROM location WHERE source_id = 'loc-3'") == 0
    tombstone = scalar(
        engine, "SELECT op FROM change_log WHERE service_id = :id ORDER BY seq DESC LIMIT 1", id=removed_id
    )
    assert tombstone == "delete"


def test_sources_are_independent(engine, tmp_path):
    import_path(engine, small_package(tmp_path / "a"), source="a")
    import_path(engine, small_package(tmp_path / "b", services=2), source="b")
    assert scalar(engine, "SELECT count(*) FROM service") == 5
    import_path(engine, small_package(tmp_path / "b2", services=1), source="b")
    assert scalar(engine, "SELECT count(*) FROM service WHERE source = 'a'") == 3
    assert scalar(engine, "SELECT count(*) FROM service WHERE source = 'b'") == 1
