"""The live part of a site's card: its capacity counts and the open field reports about
its service. Imports write it with the rest of the card (service/directory/sites.py); a provider's
update or a report changes it alone (``refresh``), without an import.

``refresh`` rewrites the live fields of every site of the given services (their cards, the
``capacity_*`` columns nearest filters on, their map points), then moves the data version
with an "upsert" in the change log for each service, in the caller's transaction, which
must hold the directory lock (service/directory/lock.py). Once it commits, each worker sees
the new data version within FIELDNAV_DATA_VERSION_TTL_S (1 s): nearest, search and the
service details read the rewritten rows (the detail cache is keyed by the version),
``/v1/sync/services`` returns the services in its next delta, and TileJSON hands out tile
URLs of the new version.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import orjson
from sqlalchemy import Connection, text

from service.capacity.merge import Count, card_fields, file_count, live_count
from service.directory import change_log

# The queries read either one source's services (imports) or a list of services (refresh).
FILE_COUNTS_SQL = """
SELECT DISTINCT ON (c.service_id, c.unit_id) c.service_id, c.available, c.maximum, c.updated, u.name AS unit
FROM service_capacity c JOIN unit u ON u.id = c.unit_id JOIN service s ON s.id = c.service_id
WHERE {where}
ORDER BY c.service_id, c.unit_id, c.updated DESC
"""
LIVE_COUNTS_SQL = """
SELECT l.service_id, l.unit, l.available, l.maximum, l.updated
FROM capacity_live l JOIN service s ON s.id = l.service_id
WHERE {where}
"""
OPEN_REPORTS_SQL = """
SELECT r.service_id, r.kind, max(r.created_at) AS reported_at, count(*) AS count
FROM field_report r JOIN service s ON s.id = r.service_id
WHERE r.status = 'open' AND {where}
GROUP BY r.service_id, r.kind
"""
BY_SOURCE = "s.source = :source"
BY_IDS = "s.id = ANY(:ids)"


def open_reports(rows: list[dict]) -> list[dict]:
    """The card's ``open_reports``: one entry per kind, newest first; no note, no reporter."""
    entries = [{"kind": r["kind"], "reported_at": r["reported_at"].isoformat(), "count": int(r["count"])} for r in rows]
    return sorted(entries, key=lambda e: (e["reported_at"], e["kind"]), reverse=True)


def open_reports_of(connection: Connection, service_id: uuid.UUID) -> list[dict]:
    """One service's ``open_reports`` (the HSDS service detail carries them too)."""
    return open_reports_by_service(connection, [service_id]).get(service_id, [])


def open_reports_by_service(connection: Connection, service_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[dict]]:
    """``open_reports`` of a batch of services in one query (a query per service costs 100k
    round trips over the whole directory); a service without open reports is left out."""
    rows_of: dict[uuid.UUID, list[dict]] = defaultdict(list)
    for row in connection.execute(text(OPEN_REPORTS_SQL.format(where=BY_IDS)), {"ids": list(service_ids)}):
        rows_of[row.service_id].append(dict(row._mapping))
    return {service_id: open_reports(rows) for service_id, rows in rows_of.items()}


def live_fields(file_rows: list[dict], live_rows: list[dict], report_rows: list[dict]) -> dict:
    """``capacity``, ``capacities`` and ``open_reports`` of a card, from one service's rows."""
    counts: list[Count] = [file_count(r) for r in file_rows] + [live_count(r) for r in live_rows]
    return {**card_fields(counts), "open_reports": open_reports(report_rows)}


def column_values(fields: dict) -> dict:
    """What service_site and map_point hold beside the card: the first count's."""
    first = fields["capacity"]
    return {
        "capacity_available": None if first is None else first["available"],
        "capacity_as_of": None if first is None else datetime.fromisoformat(first["as_of"]),
    }


def rows_by_service(connection: Connection, where: str, params: dict) -> dict[str, dict[uuid.UUID, list[dict]]]:
    """{"file"|"live"|"reports": {service_id: rows}} for the services ``where`` selects."""
    grouped: dict[str, dict[uuid.UUID, list[dict]]] = {}
    for name, sql in (("file", FILE_COUNTS_SQL), ("live", LIVE_COUNTS_SQL), ("reports", OPEN_REPORTS_SQL)):
        by_service: dict[uuid.UUID, list[dict]] = defaultdict(list)
        for row in connection.execute(text(sql.format(where=where)), params):
            by_service[row.service_id].append(dict(row._mapping))
        grouped[name] = by_service
    return grouped


def fields_of(grouped: dict[str, dict[uuid.UUID, list[dict]]], service_id: uuid.UUID) -> dict:
    return live_fields(
        grouped["file"].get(service_id, []), grouped["live"].get(service_id, []), grouped["reports"].get(service_id, [])
    )


_UPDATE_SITES = text("""
UPDATE service_site SET card = card || CAST(:fields AS jsonb),
       capacity_available = :capacity_available, capacity_as_of = :capacity_as_of
WHERE service_id = :service_id
""")
# Through the service's sites: map_point has no index on service_id (tiles find points by
# geometry), and a scan of every point per service (30 ms at 100k sites, 10x that at 1M) would
# be held inside the directory lock, for each service of a bulk update.
_UPDATE_POINTS = text("""
UPDATE map_point p SET capacity = CASE WHEN CAST(:capacity_available AS numeric) IS NULL THEN 'none'
                                       WHEN CAST(:capacity_available AS numeric) > 0 THEN 'available' ELSE 'full' END,
       capacity_as_of = :capacity_as_of
FROM service_site s
WHERE s.id = p.site_id AND s.service_id = :service_id
""")


def refresh(connection: Connection, service_ids: list[uuid.UUID]) -> int:
    """Rewrite the live fields of these services' sites and record the change; returns the
    new data version. The caller holds the directory lock."""
    ids = sorted(set(service_ids), key=str)
    grouped = rows_by_service(connection, BY_IDS, {"ids": ids})
    params = []
    for service_id in ids:
        fields = fields_of(grouped, service_id)
        params.append({"service_id": service_id, "fields": orjson.dumps(fields).decode(), **column_values(fields)})
    if params:
        connection.execute(_UPDATE_SITES, params)
        connection.execute(_UPDATE_POINTS, params)
    return change_log.record_upserts(connection, ids)
