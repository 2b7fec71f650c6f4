"""The list shapes of HSDS 3.0 (compiled/service_list.json, organization_list.json,
service_at_location_list.json): one-to-one fields only, each as it may be shown."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Connection

from service.directory import confidential
from service.hsds.confidential_ids import confidential_locations, confidential_organizations, confidential_services
from service.hsds.rows import fetch
from service.hsds.serialize import Serializer


def _in_order(rows: list[dict], ids: Sequence) -> list[dict]:
    by_id = {row["id"]: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def organization_summaries(connection: Connection, ids: Sequence[uuid.UUID], serializer: Serializer) -> list[dict]:
    rows = _in_order(fetch(connection, "organization", "id", ids), ids)
    private = confidential_organizations(connection, ids)
    return [
        serializer.of(
            "organization", confidential.allow(row, confidential.ORGANIZATION) if row["id"] in private else row
        )
        for row in rows
    ]


def _raw_service_summaries(connection: Connection, ids: Sequence[uuid.UUID]) -> list[dict]:
    rows = _in_order(fetch(connection, "service", "id", ids), ids)
    organizations = {o["id"]: o for o in fetch(connection, "organization", "id", (r["organization_id"] for r in rows))}
    private = confidential_services(connection, ids)
    shown = []
    for row in rows:
        summary = {**row, "organization": organizations.get(row["organization_id"])}
        shown.append(confidential.allow(summary, confidential.SERVICE) if row["id"] in private else summary)
    return shown


def service_summaries(connection: Connection, ids: Sequence[uuid.UUID], serializer: Serializer) -> list[dict]:
    return [serializer.of("service", row) for row in _raw_service_summaries(connection, ids)]


def service_at_location_summaries(
    connection: Connection, ids: Sequence[uuid.UUID], serializer: Serializer
) -> list[dict]:
    sals = _in_order(fetch(connection, "service_at_location", "id", ids), ids)
    locations = {loc["id"]: loc for loc in fetch(connection, "location", "id", (s["location_id"] for s in sals))}
    services = {s["id"]: s for s in _raw_service_summaries(connection, [s["service_id"] for s in sals])}
    private = confidential_locations(connection, locations)
    shown = []
    for sal in sals:
        summary = {**sal, "location": locations.get(sal["location_id"]), "service": services.get(sal["service_id"])}
        if sal["location_id"] in private:
            # The site's own text and place are withheld; its service is already filtered.
            summary = {
                **confidential.allow({**summary, "location": None}, confidential.SERVICE_AT_LOCATION),
                "location": confidential.allow(summary["location"] or {}, confidential.LOCATION),
                "service": summary["service"],
            }
        shown.append(serializer.of("service_at_location", summary))
    return shown


def taxonomies(connection: Connection, ids: Sequence[uuid.UUID], serializer: Serializer) -> list[dict]:
    return [serializer.of("taxonomy", row) for row in _in_order(fetch(connection, "taxonomy", "id", ids), ids)]


def taxonomy_terms(connection: Connection, ids: Sequence[uuid.UUID], serializer: Serializer) -> list[dict]:
    return [
        serializer.of("taxonomy_term", row) for row in _in_order(fetch(connection, "taxonomy_term", "id", ids), ids)
    ]
