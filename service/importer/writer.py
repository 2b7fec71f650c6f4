"""Write validated rows for one source, in the caller's transaction.

The source's previous rows are replaced as a whole (same ids, so nothing that points at
them breaks), and the change log records only what really changed: services whose content
hash moved ("upsert") and services missing from this import ("delete", a tombstone).
The data version moves only when something changed, so an idempotent re-import does not
invalidate any cache.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import Connection, text

from service.directory import change_log
from service.directory import lock as directory_lock
from service.importer.fields import PROVENANCE_COLUMNS, TABLES
from service.importer.validate import ValidRows
from service.platform import db
from spatial.points import H3_RESOLUTIONS

DERIVED_COLUMNS = {
    "service": ("category_groups", "content_hash"),
    "location": ("geom", *(f"h3_r{res}" for res in H3_RESOLUTIONS)),
}


@dataclass(frozen=True)
class Changes:
    upserted: int
    deleted: int
    data_version: int


def _columns(table_name: str, columns: dict) -> list[str]:
    return [*columns, *PROVENANCE_COLUMNS, *DERIVED_COLUMNS.get(table_name, ())]


def _copy_rows(connection: Connection, table_name: str, columns: list[str], rows) -> None:
    raw = db.driver_connection(connection)
    column_list = ", ".join(f'"{c}"' for c in columns)  # names come from fields.py, not input
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table_name}" ({column_list}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row.get(c) for c in columns])


def _record_changes(connection: Connection, source: str, upserts: list[uuid.UUID], deletes: list[uuid.UUID]) -> int:
    if not upserts and not deletes:
        return connection.execute(text("SELECT version FROM data_version WHERE id = 1")).scalar_one()
    version = change_log.bump_version(connection)
    changes = [{"service_id": i, "op": "upsert"} for i in upserts] + [
        {"service_id": i, "op": "delete"} for i in deletes
    ]
    _copy_rows(
        connection,
        "change_log",
        ["service_id", "version", "op", "source"],
        ({**change, "version": version, "source": source} for change in changes),
    )
    return version


def replace_source(connection: Connection, valid: ValidRows, source: str) -> Changes:
    directory_lock.hold(connection)
    old_hashes: dict[uuid.UUID, str] = dict(
        connection.execute(
            text("SELECT id, content_hash FROM service WHERE source = :source"), {"source": source}
        ).all()
    )
    for table in reversed(TABLES):
        connection.execute(text(f'DELETE FROM "{table.name}" WHERE source = :source'), {"source": source})
    for table in TABLES:
        rows = valid.rows(table.name)
        if rows:
            _copy_rows(connection, table.name, _columns(table.name, table.columns), rows.values())

    new_services = valid.rows("service")
    upserts = sorted((i for i, row in new_services.items() if old_hashes.get(i) != row["content_hash"]), key=str)
    deletes = sorted((i for i in old_hashes if i not in new_services), key=str)
    version = _record_changes(connection, source, upserts, deletes)
    return Changes(upserted=len(upserts), deleted=len(deletes), data_version=version)


def record_run(
    connection: Connection,
    *,
    source: str,
    format: str,
    path: str,
    started_at: datetime,
    data_version: int,
    counts: dict,
    problem_count: int,
) -> None:
    connection.execute(
        text(
            "INSERT INTO import_run (source, format, path, started_at, data_version, counts, problem_count) "
            "VALUES (:source, :format, :path, :started_at, :data_version, CAST(:counts AS jsonb), :problem_count)"
        ),
        {
            "source": source,
            "format": format,
            "path": path,
            "started_at": started_at,
            "data_version": data_version,
            "counts": orjson.dumps(counts).decode(),
            "problem_count": problem_count,
        },
    )
