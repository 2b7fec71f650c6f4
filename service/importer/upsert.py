"""Write the services of an incremental pull, in the caller's transaction, leaving the rest
of the source alone (no tombstones: a full pull finds deletions).

Each compiled service arrives whole (its organization, locations, schedules, phones,
attributes), so for every service and location it holds, the rows hanging off it that it
no longer lists are removed (a phone taken off a service, a location the service left);
everything it holds is inserted or updated in place, keeping its id. Organizations are
updated but never lose their own phones here: a service's copy of its organization may be
abridged, and `/organizations` is read by full pulls only.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text

from service.importer import writer
from service.importer.fields import TABLES
from service.importer.records import ImportRefused
from service.importer.validate import ValidRows

# Child table -> {column: the owner tables whose ids in this pull make the row stale when
# the pull does not hold it}.
OWNED_BY: dict[str, dict[str, tuple[str, ...]]] = {
    "service_at_location": {"service_id": ("service",)},
    "address": {"location_id": ("location",)},
    "phone": {
        "service_id": ("service",),
        "location_id": ("location",),
        "service_at_location_id": ("service_at_location",),
    },
    "schedule": {
        "service_id": ("service",),
        "location_id": ("location",),
        "service_at_location_id": ("service_at_location",),
    },
    "attribute": {"link_id": ("service", "location")},
    "language": {"service_id": ("service",), "location_id": ("location",), "phone_id": ("phone",)},
    "accessibility": {"location_id": ("location",)},
    "service_area": {"service_id": ("service",), "service_at_location_id": ("service_at_location",)},
    "service_capacity": {"service_id": ("service",)},
}


def _remove_stale(connection: Connection, valid: ValidRows, source: str) -> None:
    """Rows owned by a record of this pull that the pull no longer lists. Parents first:
    the foreign keys' cascade takes a removed service_at_location's phones and schedules."""
    for table in TABLES:
        owners = OWNED_BY.get(table.name)
        if not owners:
            continue
        conditions: list[str] = []
        params: dict[str, object] = {"source": source, "keep": list(valid.rows(table.name))}
        for column, owner_tables in owners.items():
            ids = [i for owner in owner_tables for i in valid.rows(owner)]
            if ids:
                conditions.append(f'"{column}" = ANY(:{column})')  # names from OWNED_BY, not input
                params[column] = ids
        if conditions:
            connection.execute(
                text(
                    f'DELETE FROM "{table.name}" WHERE source = :source AND ({" OR ".join(conditions)}) '
                    "AND NOT (id = ANY(:keep))"
                ),
                params,
            )


def _upsert_table(connection: Connection, table_name: str, columns: list[str], rows: dict[uuid.UUID, dict]) -> None:
    # COPY into a scratch table, then one INSERT ... ON CONFLICT: as fast as the full
    # writer's COPY, and a row of another source is never taken over (it is counted).
    scratch = f"pull_{table_name}"
    connection.execute(text(f'CREATE TEMP TABLE "{scratch}" (LIKE "{table_name}" INCLUDING DEFAULTS) ON COMMIT DROP'))
    writer._copy_rows(connection, scratch, columns, rows.values())
    quoted = ", ".join(f'"{c}"' for c in columns)
    updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in columns if c != "id")
    written = connection.execute(
        text(
            f'INSERT INTO "{table_name}" AS t ({quoted}) SELECT {quoted} FROM "{scratch}" '
            f"ON CONFLICT (id) DO UPDATE SET {updates} WHERE t.source = EXCLUDED.source"
        )
    ).rowcount
    connection.execute(text(f'DROP TABLE "{scratch}"'))
    if written != len(rows):
        raise ImportRefused(
            f"{len(rows) - written} {table_name} records of this pull already belong to another source; "
            f"pull it under that source's name, or remove that source first; nothing was imported"
        )


def upsert_services(connection: Connection, valid: ValidRows, source: str) -> writer.Changes:
    """Insert or update what ``valid`` holds; the change log gets an upsert for each service
    whose content changed. The caller holds the directory lock."""
    new_services = valid.rows("service")
    old_hashes: dict[uuid.UUID, str] = dict(
        connection.execute(
            text("SELECT id, content_hash FROM service WHERE source = :source AND id = ANY(:ids)"),
            {"source": source, "ids": list(new_services)},
        ).all()
    )
    _remove_stale(connection, valid, source)
    for table in TABLES:
        rows = valid.rows(table.name)
        if rows:
            _upsert_table(connection, table.name, writer._columns(table.name, table.columns), rows)
    upserts = sorted((i for i, row in new_services.items() if old_hashes.get(i) != row["content_hash"]), key=str)
    version = writer._record_changes(connection, source, upserts, [])
    return writer.Changes(upserted=len(upserts), deleted=0, data_version=version)
