"""Write a chunk of a pull's services in place, in the caller's transaction, leaving the
rest of the source alone (service/importer/chunked.py: a full pull then removes what it did
not write; an incremental one tombstones nothing).

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


# Ids sent as one array and joined (or hashed), never ``= ANY(array)`` on each row: within
# a pull's transaction the planner's statistics still describe the table before it, and a
# sequential scan comparing each row with a 2,000-id array took seconds a chunk.
OLD_HASHES_SQL = """
SELECT s.id, s.content_hash FROM unnest(CAST(:ids AS uuid[])) AS i(id) JOIN service s ON s.id = i.id
WHERE s.source = :source
"""


def _remove_stale(connection: Connection, valid: ValidRows, source: str) -> None:
    """Rows owned by a record of this pull that the pull no longer lists. Parents first:
    the foreign keys' cascade takes a removed service_at_location's phones and schedules."""
    for table in TABLES:
        owners = OWNED_BY.get(table.name)
        if not owners:
            continue
        # UUIDs are unique across tables: one set of owner ids serves every column.
        owner_ids = list({i for owner_tables in owners.values() for owner in owner_tables for i in valid.rows(owner)})
        if not owner_ids:
            continue
        columns = " OR ".join(f'"{column}" IN (SELECT id FROM owners)' for column in owners)  # names from OWNED_BY
        connection.execute(
            text(
                f"WITH owners AS (SELECT unnest(CAST(:owners AS uuid[])) AS id), "
                f"keep AS (SELECT unnest(CAST(:keep AS uuid[])) AS id) "
                f'DELETE FROM "{table.name}" WHERE source = :source AND ({columns}) '
                f"AND id NOT IN (SELECT id FROM keep)"
            ),
            {"source": source, "owners": owner_ids, "keep": list(valid.rows(table.name))},
        )


def _upsert_table(
    connection: Connection, table_name: str, columns: list[str], rows: dict[uuid.UUID, dict], seen: str | None
) -> None:
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
    if seen is not None:
        connection.execute(
            text(f'INSERT INTO "{seen}" (tbl, id) SELECT :tbl, id FROM "{scratch}" ON CONFLICT DO NOTHING'),
            {"tbl": table_name},
        )
    connection.execute(text(f'DROP TABLE "{scratch}"'))
    if written != len(rows):
        raise ImportRefused(
            f"{len(rows) - written} {table_name} records of this pull already belong to another source; "
            f"pull it under that source's name, or remove that source first; nothing was imported"
        )


def write_services(
    connection: Connection, valid: ValidRows, source: str, *, seen: str | None = None
) -> list[uuid.UUID]:
    """Insert or update what ``valid`` holds; returns the services whose content changed.
    ``seen``: a temporary table (tbl, id) that gets the id of every row written; a chunked
    full import removes every other row of the source at the end (service/importer/chunked.py),
    stale children included, so they are not looked for chunk by chunk."""
    new_services = valid.rows("service")
    old_hashes: dict[uuid.UUID, str] = dict(
        connection.execute(
            text(OLD_HASHES_SQL),
            {"source": source, "ids": list(new_services)},
        ).all()
    )
    if seen is None:
        _remove_stale(connection, valid, source)
    for table in TABLES:
        rows = valid.rows(table.name)
        if rows:
            _upsert_table(connection, table.name, writer._columns(table.name, table.columns), rows, seen)
    return [i for i, row in new_services.items() if old_hashes.get(i) != row["content_hash"]]
