"""``fieldnav export --format hsds-datapackage``: the directory as an HSDS 3.0 tabular
datapackage, one CSV per table (service/hsds/tabular_tables.py) and its ``datapackage.json``,
in a folder or, when the path ends in .zip, a zip file.

Each table is read from a server-side cursor (``yield_per``) and written as it comes, so
memory stays flat; one REPEATABLE READ snapshot makes the tables agree with each other.
Confidential sites are shown as the HSDS API shows them (service/hsds/tabular_confidential.py).
A folder is written beside its target and renamed into place when complete; a zip goes through
service/hsds/export_files.py: a failed export never leaves a half package under the path."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, text

from service.hsds.export_files import partial_sibling, replaced_on_success
from service.hsds.serialize import Serializer
from service.hsds.tabular_confidential import ConfidentialIds
from service.hsds.tabular_tables import FIELD_TYPES, TABLES, TabularTable
from service.hsds.timezones import utc_offset_h

# Rows fetched from the server-side cursor at a time.
ROWS_PER_FETCH = 2000
PACKAGE_NAME = "fieldnav-hsds"
HSDS_VERSION = "3.0"
_ID_CONSTRAINTS = {"id": {"constraints": {"required": True, "unique": True}}}


class ExportRefused(Exception):
    """The export cannot start (its target is in the way); nothing was written."""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value)


def _schedule_zone(row: dict, serializer: Serializer) -> dict:
    # As service/hsds/serialize.py: the offset (a number in HSDS 3.0) and the IANA name beside it.
    zone_name = row.get("timezone") or serializer.default_zone
    return {**row, "timezone": utc_offset_h(zone_name, serializer.at), "timezone_name": zone_name}


def _rows(
    connection: Connection, table: TabularTable, serializer: Serializer, hidden: ConfidentialIds
) -> Iterator[list]:
    result = connection.execution_options(yield_per=ROWS_PER_FETCH).execute(
        text(f'SELECT * FROM "{table.name}" ORDER BY id')  # our table names, never a request's
    )
    for record in result.mappings():
        row = hidden.shown(table.name, dict(record))
        if row is None:
            continue
        if table.name == "schedule":
            row = _schedule_zone(row, serializer)
        yield [_cell(row.get(column)) for column in table.columns]


def _write_table(
    connection: Connection, table: TabularTable, serializer: Serializer, hidden: ConfidentialIds, out: IO[str]
) -> int:
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(table.columns)
    count = 0
    for cells in _rows(connection, table, serializer, hidden):
        writer.writerow(cells)
        count += 1
    return count


def datapackage(created: datetime) -> dict:
    """The package's ``datapackage.json`` (Frictionless Tabular Data Package)."""
    return {
        "name": PACKAGE_NAME,
        "title": "fieldnav directory (Open Referral HSDS 3.0)",
        "profile": "tabular-data-package",
        "version": HSDS_VERSION,
        "created": created.isoformat(),
        "resources": [
            {
                "name": table.name,
                "path": table.file,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {
                    "fields": [
                        {"name": column, **FIELD_TYPES[kind], **_ID_CONSTRAINTS.get(column, {})}
                        for column, kind in table.columns.items()
                    ],
                    "primaryKey": "id",
                },
            }
            for table in TABLES
        ],
    }


OpenText = Callable[[str], IO[str]]


def _write_package(connection: Connection, serializer: Serializer, open_text: OpenText) -> dict[str, int]:
    hidden = ConfidentialIds.read(connection)
    counts = {}
    for table in TABLES:
        with open_text(table.file) as out:
            counts[table.name] = _write_table(connection, table, serializer, hidden, out)
    with open_text("datapackage.json") as out:
        out.write(json.dumps(datapackage(serializer.at), indent=2) + "\n")
    return counts


def _in_folder(connection: Connection, path: Path, serializer: Serializer) -> dict[str, int]:
    if path.exists() and not (path.is_dir() and not any(path.iterdir())):
        raise ExportRefused(f"{path} exists and is not an empty folder")
    building = partial_sibling(path)
    building.mkdir()  # mode from the umask, as the folder will be
    try:
        counts = _write_package(
            connection, serializer, lambda name: (building / name).open("w", encoding="utf-8", newline="")
        )
        if path.exists():
            path.rmdir()  # empty, checked above
        os.replace(building, path)
        return counts
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def _in_zip(connection: Connection, path: Path, serializer: Serializer) -> dict[str, int]:
    with replaced_on_success(path) as file, zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED) as package:

        def open_text(name: str) -> IO[str]:
            # Streamed into the zip member; force_zip64: the size is not known in advance.
            return io.TextIOWrapper(package.open(name, "w", force_zip64=True), encoding="utf-8", newline="")

        return _write_package(connection, serializer, open_text)


def export_datapackage(engine: Engine, path: Path, serializer: Serializer) -> dict[str, int]:
    """Write the package to ``path`` (a folder, or a zip when it ends in .zip); rows per table."""
    snapshot = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with snapshot, snapshot.begin():
        if path.suffix.lower() == ".zip":
            return _in_zip(snapshot, path, serializer)
        return _in_folder(snapshot, path, serializer)
