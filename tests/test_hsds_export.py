"""`fieldnav export`: the whole directory as HSDS 3.0, ndjson of compiled services or a tabular
datapackage, run as an operator runs it on a real PostGIS.

Every ndjson line is checked against Open Referral's compiled/service.json and against what
the HSDS API builds for that service; every CSV row against its table's base schema
(tests/data/hsds-3.0/schema, HSDS 3.1's for capacities and units), `$ref`s resolved by a
`referencing` registry from the files here, never the network. A round trip (export, import
into an empty database, export again) gives the same content in both formats; confidential
sites have no position or address in either; a failed export leaves nothing under its path."""

from __future__ import annotations

import csv
import io
import json
import os
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import orjson
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import Engine, create_engine, text

from service.hsds.compiled import compiled_services
from service.hsds.export import exported_services
from service.hsds.serialize import Serializer
from tests.support.cli import fieldnav
from tests.support.hsds_services import import_services, scheduled_service

DATA = Path(__file__).resolve().parent / "data" / "hsds-3.0"  # tests/data/README.md
SCHEMA_DIRS = (DATA / "schema", DATA / "schema-3.1-additions")
SITE_ZONES_SQL = "SELECT s.name, site.timezone FROM service_site site JOIN service s ON s.id = site.service_id"
PUBLISHED = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"
TABLE_FILES = {
    "organizations.csv": "organization",
    "taxonomies.csv": "taxonomy",
    "taxonomy_terms.csv": "taxonomy_term",
    "units.csv": "unit",
    "services.csv": "service",
    "locations.csv": "location",
    "service_at_location.csv": "service_at_location",
    "addresses.csv": "address",
    "phones.csv": "phone",
    "schedules.csv": "schedule",
    "languages.csv": "language",
    "accessibility.csv": "accessibility",
    "service_areas.csv": "service_area",
    "attributes.csv": "attribute",
    "service_capacity.csv": "service_capacity",
}


def _registry() -> Registry:
    # Each schema under its published URL: the base schemas `$ref` each other by relative name.
    resources = [
        (
            PUBLISHED + path.relative_to(folder).as_posix(),
            Resource.from_contents(json.loads(path.read_text()), DRAFT202012),
        )
        for folder in SCHEMA_DIRS
        for path in folder.rglob("*.json")
    ]
    return Registry().with_resources(resources)  # no `retrieve`: an unknown $ref fails, offline


REGISTRY = _registry()


def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({"$ref": PUBLISHED + name}, registry=REGISTRY)


def _errors(validator: jsonschema.Draft202012Validator, value) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(value)]


def _schema_of(table: str) -> dict:
    for folder in SCHEMA_DIRS:
        if (folder / f"{table}.json").exists():
            return json.loads((folder / f"{table}.json").read_text())
    raise AssertionError(f"no schema for {table}")


def _row_object(row: dict[str, str], schema: dict) -> dict:
    """A CSV row as the JSON object its schema describes: cells typed by the schema, an empty
    cell absent (a required text field fieldnav has no value for is "", as in the API)."""
    properties, required = schema["properties"], set(schema.get("required", ()))
    shown: dict = {}
    for column, cell in row.items():
        kind = properties.get(column, {}).get("type", "string")
        if cell == "":
            if column in required and kind == "string":
                shown[column] = ""
            continue
        shown[column] = float(cell) if kind == "number" else cell == "true" if kind == "boolean" else cell
    return shown


def _export(database_url: str, fmt: str, path: Path) -> str:
    done = fieldnav(database_url, "export", "--format", fmt, str(path))
    assert done.returncode == 0, done.stderr
    return done.stdout


def _import(database_url: str, path: Path) -> None:
    done = fieldnav(database_url, "import", "--source", "copy", str(path))
    assert done.returncode == 0, done.stderr + done.stdout
    # Nothing fieldnav exports may be refused or changed on the way back in (the schedule's
    # zone comes back from `timezone_name`: service/importer/zones.py).
    listed = [line for line in done.stderr.splitlines() if line.startswith("  ")]
    assert not listed, listed


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _confidential_location_ids(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return {str(i) for i in connection.execute(text("SELECT id FROM location WHERE address_private")).scalars()}


@pytest.fixture(scope="module")
def demo_engine(demo_database_url: str):
    engine = create_engine(demo_database_url)
    yield engine
    engine.dispose()


# --- hsds-ndjson -------------------------------------------------------------------------------


def test_ndjson_is_every_service_as_the_hsds_api_builds_it(demo_database_url, demo_engine, tmp_path):
    path = tmp_path / "directory.ndjson"
    assert "exported 1500 services" in _export(demo_database_url, "hsds-ndjson", path)
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()  # a file that travels, as any the operator writes
    services = _lines(path)
    ids = [s["id"] for s in services]
    assert len(ids) == 1500 and ids == sorted(ids, key=uuid.UUID)  # every service once, by id
    validator = _validator("compiled/service.json")
    for service in services:
        assert not _errors(validator, service), (service["id"], _errors(validator, service))
        assert "open_reports" not in service  # live-only: not exported
    # Exactly what the HSDS API builds (service/hsds/compiled.py), open_reports aside.
    serializer = Serializer(at=datetime.now(UTC), default_zone="America/Toronto")
    with demo_engine.connect() as connection:
        sample = [uuid.UUID(i) for i in ids[::97]]
        built = orjson.loads(orjson.dumps(compiled_services(connection, sample, serializer)))  # as the API writes
    by_id = {s["id"]: s for s in services}
    for service in built:
        service.pop("open_reports")
        exported = by_id[service["id"]]
        for attribute in exported["attributes"]:  # the export adds each term's taxonomy
            assert attribute["taxonomy_term"].pop("taxonomy_detail")["id"] == attribute["taxonomy_term"]["taxonomy_id"]
        assert exported == service
    # Confidential sites: no position, no address, no name.
    private = _confidential_location_ids(demo_engine)
    seen = [sal["location"] for s in services for sal in s["service_at_locations"] if sal["location_id"] in private]
    assert seen, "the demo data holds confidential sites"
    for location in seen:
        assert location["address_private"] is True
        assert not {"latitude", "longitude", "name", "description"} & location.keys() and location["addresses"] == []


def test_ndjson_batches_by_keyset_give_every_service_once(demo_engine):
    serializer = Serializer(at=datetime.now(UTC), default_zone="America/Toronto")
    with demo_engine.connect() as connection:
        small = [s["id"] for s in exported_services(connection, serializer, batch_size=7)]
        whole = [s["id"] for s in exported_services(connection, serializer, batch_size=5000)]
    assert small == whole and len(set(small)) == 1500


def test_ndjson_round_trip_gives_the_same_services(demo_database_url, database_url, tmp_path):
    first, second = tmp_path / "first.ndjson", tmp_path / "second.ndjson"
    _export(demo_database_url, "hsds-ndjson", first)
    _import(database_url, first)
    _export(database_url, "hsds-ndjson", second)
    assert _lines(second) == _lines(first)


def test_schedules_in_other_zones_come_back_in_their_zone(pg_server, template_db, database_url, tmp_path):
    """The demo data is all in the default zone: a site in Vancouver, Regina or St. John's
    (a half-hour offset, no fixed zone) must come back in its own zone from both formats."""
    monday = {"byday": "MO", "opens_at": "09:00", "closes_at": "17:00"}
    zones = {"Vancouver": "America/Vancouver", "Regina": "America/Regina", "St. John's": "America/St_Johns"}
    services = [scheduled_service(f"drop-in, {city}", [{**monday, "timezone": zone}]) for city, zone in zones.items()]
    services.append(scheduled_service("drop-in, first Wednesday", [{**monday, "freq": "MONTHLY", "byday": "1WE"}]))
    import_services(database_url, tmp_path, "zones", services)
    for fmt, name in (("hsds-ndjson", "zones.ndjson"), ("hsds-datapackage", "zones.zip")):
        copy_name = f"fieldnav_t_{uuid.uuid4().hex[:12]}"
        copy_url = pg_server.create_database(copy_name, template=template_db)
        try:
            first, second = tmp_path / f"first-{name}", tmp_path / f"second-{name}"
            _export(database_url, fmt, first)
            _import(copy_url, first)
            _export(copy_url, fmt, second)
            copy = create_engine(copy_url)
            with copy.connect() as connection:
                stored = dict(connection.execute(text(SITE_ZONES_SQL)).all())
            copy.dispose()
        finally:
            pg_server.drop_database(copy_name)
        assert stored == {
            **{f"drop-in, {city}": zone for city, zone in zones.items()},
            "drop-in, first Wednesday": "America/Toronto",
        }, fmt
        if fmt == "hsds-ndjson":
            assert _lines(second) == _lines(first)
        else:
            assert _tables(_package_files(second)) == _tables(_package_files(first))


# --- hsds-datapackage --------------------------------------------------------------------------


def _package_files(path: Path) -> dict[str, str]:
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as package:
            return {name: package.read(name).decode("utf-8") for name in package.namelist()}
    return {child.name: child.read_text("utf-8") for child in path.iterdir()}


def _tables(files: dict[str, str]) -> dict[str, list[dict[str, str]]]:
    return {
        name: list(csv.DictReader(io.StringIO(body, newline="")))
        for name, body in files.items()
        if name.endswith(".csv")
    }


def test_datapackage_rows_validate_and_withhold_confidential_sites(demo_database_url, demo_engine, tmp_path):
    path = tmp_path / "package"
    _export(demo_database_url, "hsds-datapackage", path)
    files = _package_files(path)
    assert set(files) == {*TABLE_FILES, "datapackage.json"}
    assert path.stat().st_mode & 0o777 == 0o777 & ~_umask()
    package = json.loads(files["datapackage.json"])
    assert package["profile"] == "tabular-data-package"
    tables = _tables(files)
    for resource in package["resources"]:
        header = next(csv.reader(io.StringIO(files[resource["path"]])))
        assert header == [field["name"] for field in resource["schema"]["fields"]], resource["name"]
        assert TABLE_FILES[resource["path"]] == resource["name"]
    for name, rows in tables.items():
        schema = _schema_of(TABLE_FILES[name])
        # A capacity row names its unit by unit_id (units.csv); the nested `unit` is the JSON shape's.
        schema = {**schema, "required": [f for f in schema.get("required", []) if f != "unit"]}
        validator = jsonschema.Draft202012Validator(
            schema, registry=REGISTRY.with_resource(PUBLISHED + "row", Resource.from_contents(schema, DRAFT202012))
        )
        for number, row in enumerate(rows, start=2):
            obj = _row_object(row, schema)
            assert not _errors(validator, obj), (name, number, _errors(validator, obj))
    with demo_engine.connect() as connection:
        counts = {
            t: connection.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in set(TABLE_FILES.values())
        }
    assert len(tables["services.csv"]) == counts["service"] == 1500
    assert len(tables["schedules.csv"]) == counts["schedule"] > 0
    private = _confidential_location_ids(demo_engine)
    assert private
    for row in tables["locations.csv"]:
        if row["id"] in private:
            assert row["address_private"] == "true" and row["latitude"] == row["longitude"] == row["name"] == ""
    assert not any(row["location_id"] in private for row in tables["addresses.csv"])
    assert not any(row["location_id"] in private for row in tables["accessibility.csv"])
    for row in tables["phones.csv"] + tables["schedules.csv"]:  # structured fields only, no free text
        if row["location_id"] in private:
            assert row.get("description", "") == row.get("notes", "") == ""
    assert len(tables["addresses.csv"]) < counts["address"]


@pytest.mark.parametrize("second_name", ["again", "again.zip"])
def test_datapackage_round_trip_gives_the_same_rows(demo_database_url, database_url, tmp_path, second_name):
    first, second = tmp_path / "first.zip", tmp_path / second_name
    _export(demo_database_url, "hsds-datapackage", first)
    _import(database_url, first)
    _export(database_url, "hsds-datapackage", second)
    assert _tables(_package_files(second)) == _tables(_package_files(first))


# --- a failed export ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "name"), [("hsds-ndjson", "out.ndjson"), ("hsds-datapackage", "out.zip"), ("hsds-datapackage", "out")]
)
def test_a_failed_export_leaves_nothing_under_its_path(database_url, tmp_path, fmt, name):
    unreachable = database_url.rsplit("/", 1)[0] + "/fieldnav_no_such_database"
    done = fieldnav(unreachable, "export", "--format", fmt, str(tmp_path / name))
    assert done.returncode == 1 and "the database is not reachable, nothing was written" in done.stderr
    assert list(tmp_path.iterdir()) == []  # neither the file nor a partial one
    # A folder in the way is refused before anything is read or written.
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    refused = fieldnav(database_url, "export", "--format", "hsds-datapackage", str(tmp_path / "full"))
    assert refused.returncode == 2 and "not an empty folder" in refused.stderr
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["keep.txt"]
    (tmp_path / "full" / "keep.txt").unlink()
    (tmp_path / "full").rmdir()
    # An existing file is left as it was.
    kept = tmp_path / name
    if fmt == "hsds-ndjson":
        kept.write_text("before\n")
        assert fieldnav(unreachable, "export", "--format", fmt, str(kept)).returncode != 0
        assert kept.read_text() == "before\n" and list(tmp_path.iterdir()) == [kept]
