"""The data version and the change log, moved together (DESIGN: "a change log that drives
data versions, cache keys, delta sync and tombstones").

Callers hold the directory lock (service/directory/lock.py), so a change's ``seq`` order is
its commit order."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text

_BUMP = text("UPDATE data_version SET version = version + 1, changed_at = now() WHERE id = 1 RETURNING version")


def bump_version(connection: Connection) -> int:
    """The next data version, in the caller's transaction: caches keyed by the version, tile
    URLs and pack reuse all move with it once the transaction commits."""
    return connection.execute(_BUMP).scalar_one()


def record_upserts(connection: Connection, service_ids: list[uuid.UUID]) -> int:
    """A new data version with an "upsert" for each service (its source read from
    ``service``); returns the version."""
    version = bump_version(connection)
    connection.execute(
        text("""
        INSERT INTO change_log (service_id, version, op, source)
        SELECT s.id, :version, 'upsert', s.source FROM service s WHERE s.id = ANY(:ids) ORDER BY s.id
    """),
        {"version": version, "ids": list(service_ids)},
    )
    return version
