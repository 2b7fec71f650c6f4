"""``fieldnav export --format hsds-ndjson``: the whole directory, one compiled HSDS 3.0 service
a line, each exactly as ``GET /hsds/services/{id}`` shows it (service/hsds/compiled.py, with
the confidentiality rule), less fieldnav's live-only ``open_reports``, plus each taxonomy term's ``taxonomy_detail`` (its
place in the compiled schema; the API leaves it out): an import of the file then gets the
taxonomies too, and a term keeps its ``taxonomy_id``. A taxonomy describes a scheme of terms,
never a site, so confidential services carry it too.

Services are read by keyset (``id > last ORDER BY id LIMIT n``) a batch at a time and written
as they come, so memory stays flat however large the directory; one REPEATABLE READ snapshot
makes every batch agree while imports and live changes go on. The file appears under its name
only when complete (service/hsds/export_files.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
from sqlalchemy import Connection, Engine, text

from service.hsds.compiled import compiled_services
from service.hsds.export_files import replaced_on_success
from service.hsds.rows import clean
from service.hsds.serialize import Serializer

# Services per batch: one query per HSDS table for each (as the API's ndjson stream).
BATCH_SIZE = 200
# fieldnav's own fields that describe the live state, not the directory: not exported.
LIVE_ONLY_FIELDS = ("open_reports",)

_TAXONOMIES = text("SELECT * FROM taxonomy WHERE id = ANY(:ids)")
_NEXT_IDS = text("SELECT id FROM service WHERE id > :after ORDER BY id LIMIT :limit")


def service_id_batches(connection: Connection, batch_size: int) -> Iterator[list[uuid.UUID]]:
    """Every service id in order, ``batch_size`` at a time (keyset: no offset to rescan)."""
    after = uuid.UUID(int=0)
    while True:
        ids = list(connection.execute(_NEXT_IDS, {"after": after, "limit": batch_size}).scalars())
        if not ids:
            return
        yield ids
        after = ids[-1]


def _with_taxonomy_details(connection: Connection, services: list[dict], serializer: Serializer) -> list[dict]:
    terms = [
        attribute["taxonomy_term"]
        for service in services
        for attribute in service.get("attributes", [])
        if isinstance(attribute.get("taxonomy_term"), dict) and attribute["taxonomy_term"].get("taxonomy_id")
    ]
    wanted = list({term["taxonomy_id"] for term in terms})
    taxonomies = {row.id: clean(row) for row in connection.execute(_TAXONOMIES, {"ids": wanted})} if wanted else {}
    for term in terms:
        taxonomy = taxonomies.get(term["taxonomy_id"])
        if taxonomy is not None:
            term["taxonomy_detail"] = serializer.of("taxonomy", taxonomy)
    return services


def exported_services(
    connection: Connection, serializer: Serializer, *, batch_size: int = BATCH_SIZE
) -> Iterator[dict]:
    for ids in service_id_batches(connection, batch_size):
        # The live-only fields are dropped below, so they are not read at all.
        services = compiled_services(connection, ids, serializer, with_open_reports=False)
        for service in _with_taxonomy_details(connection, services, serializer):
            for field in LIVE_ONLY_FIELDS:
                service.pop(field, None)
            yield service


def export_ndjson(engine: Engine, path: Path, serializer: Serializer, *, batch_size: int = BATCH_SIZE) -> int:
    """Write every service to ``path`` as ndjson; the number of services written."""
    count = 0
    snapshot = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with snapshot, snapshot.begin(), replaced_on_success(path) as file:
        for service in exported_services(snapshot, serializer, batch_size=batch_size):
            file.write(orjson.dumps(service, option=orjson.OPT_NON_STR_KEYS) + b"\n")
            count += 1
    return count
