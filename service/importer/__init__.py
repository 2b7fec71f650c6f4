"""`fieldnav import PATH`: read HSDS data, check it, and replace one source in one transaction."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from service.areas import resolve as areas
from service.directory import lock as directory_lock
from service.directory import sites
from service.importer import derive, writer
from service.importer.readers import hsds_json, tabular_legacy, tabular_v3
from service.importer.readers.package_files import PackageFiles
from service.importer.records import ImportRefused, RowProblem, SourceData
from service.importer.validate import validate
from service.places import gazetteer
from service.platform.settings import import_settings

__all__ = ["ImportRefused", "ImportReport", "import_data", "import_path", "read_source"]

# Services of ``ids`` the source already holds: an index lookup per id (never a scan
# comparing each row with the whole array, whatever the planner believes of the table).
COUNT_PRESENT_SQL = """
SELECT count(*) FROM unnest(CAST(:ids AS uuid[])) AS i(id) JOIN service s ON s.id = i.id WHERE s.source = :source
"""


@dataclass
class ImportReport:
    source: str
    format: str
    counts: dict[str, int]
    problems: list[RowProblem]
    upserted: int
    deleted: int
    data_version: int
    duration_s: float
    ignored_files: list[str] = field(default_factory=list)
    # Services of this import the source did not hold before (the rest of ``upserted`` changed).
    added: int = 0

    @property
    def rows_skipped(self) -> int:
        return sum(1 for p in self.problems if p.action == "row skipped")

    def summary_line(self) -> str:
        located = self.counts.get("location_on_map", 0)
        return (
            f"imported {self.source} ({self.format}): {self.counts.get('service', 0)} services, "
            f"{self.counts.get('location', 0)} locations ({located} on the map), "
            f"{self.counts.get('organization', 0)} organizations; "
            f"{self.upserted} changed, {self.deleted} removed (tombstoned); "
            f"{self.rows_skipped} rows skipped, {len(self.problems)} problems; "
            f"data version {self.data_version}; {self.duration_s:.1f} s"
        )


def default_source_name(path: Path) -> str:
    stem = path.name.split(".")[0] if path.is_file() else path.name
    return re.sub(r"[^a-z0-9_-]+", "-", stem.lower()).strip("-") or "import"


def read_source(path: Path) -> SourceData:
    """Pick the reader from what the path holds."""
    if not path.exists():
        raise ImportRefused(f"{path}: no such file or folder")
    if path.is_dir() or path.suffix.lower() == ".zip":
        files = PackageFiles(path)
        try:
            if tabular_legacy.is_legacy(files):
                return tabular_legacy.read(files)
            if not any(name in tabular_v3.FILES_TO_TABLES for name in files.names()):
                raise ImportRefused(f"{path}: no HSDS tables found (expected services.csv, locations.csv, ...)")
            return tabular_v3.read(files)
        finally:
            files.close()
    if path.suffix.lower() in (".json", ".ndjson", ".jsonl"):
        return hsds_json.read(path)
    raise ImportRefused(f"{path}: expected a folder or .zip datapackage, or a .json/.ndjson file")


def import_path(engine: Engine, path: Path, *, source: str | None = None, strict: bool = False) -> ImportReport:
    """Import one full source. Raises ImportRefused (nothing written) when the source cannot
    be read, or when ``strict`` and any row is bad."""
    started, started_at = time.monotonic(), datetime.now(UTC)
    data = read_source(path)
    return import_data(
        engine,
        data,
        source=source or default_source_name(path),
        origin=str(path),
        strict=strict,
        started=started,
        started_at=started_at,
    )


def import_data(
    engine: Engine,
    data: SourceData,
    *,
    source: str,
    origin: str,
    strict: bool = False,
    started: float | None = None,
    started_at: datetime | None = None,
) -> ImportReport:
    """Check ``data`` and replace ``source`` with it in one transaction (missing services
    are tombstoned). Pulls import chunk by chunk instead (service/importer/chunked.py)."""
    started = time.monotonic() if started is None else started
    started_at = started_at or datetime.now(UTC)
    valid = validate(data, source, import_settings().default_timezone)
    if strict and valid.problems:
        raise ImportRefused(f"{len(valid.problems)} bad rows and --strict is set; nothing was imported", valid.problems)
    derive.add_positions(valid)
    derive.add_categories_and_hashes(valid)
    counts = {name: len(rows) for name, rows in valid.tables.items() if rows}
    counts["location_on_map"] = sum(1 for row in valid.rows("location").values() if row.get("geom"))
    try:
        with engine.begin() as connection:
            directory_lock.hold(connection)
            added = _count_new_services(connection, valid, source)
            changes = writer.replace_source(connection, valid, source)
            # Service areas as shapes, before the sites that take their serves_geom from them (service/areas/).
            valid.problems.extend(areas.resolve_source(connection, source, areas.origins_of(data)))
            counts["service_site"] = sites.rebuild_sites(connection, source, import_settings().default_timezone)
            gazetteer.rebuild(connection, source)  # its public addresses as places (service/places/)
            writer.record_run(
                connection,
                source=source,
                format=data.format,
                path=origin,
                started_at=started_at,
                data_version=changes.data_version,
                counts=counts,
                problem_count=len(valid.problems),
            )
            report = ImportReport(
                source=source,
                format=data.format,
                counts=counts,
                problems=valid.problems,
                upserted=changes.upserted,
                deleted=changes.deleted,
                data_version=changes.data_version,
                duration_s=time.monotonic() - started,
                ignored_files=data.ignored_files,
                added=added,
            )
    except (IntegrityError, psycopg.errors.UniqueViolation) as error:
        # The only constraint an import can break after validation is an id that another
        # source already holds (HSDS 3 UUIDs are global). The transaction rolled back.
        detail = getattr(getattr(error, "orig", error), "diag", None)
        raise ImportRefused(
            f"a record of this import already belongs to another source "
            f"({detail.message_detail if detail else error}); import it again under that "
            f"source's name with --source, or remove that source first; nothing was imported"
        ) from None
    report.duration_s = time.monotonic() - started
    return report


def _count_new_services(connection: Connection, valid, source: str) -> int:
    ids = list(valid.rows("service"))
    present = connection.execute(text(COUNT_PRESENT_SQL), {"source": source, "ids": ids}).scalar_one()
    return len(ids) - present
