"""Compiled HSDS objects (services, service_at_locations, organizations) as they may be
shown, fetched a batch at a time: one query per table for the whole batch."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Connection, text

from service.capacity.hsds import hsds_capacities
from service.directory import confidential, live_sites
from service.hsds.confidential_ids import confidential_locations, confidential_organizations
from service.hsds.rows import clean, fetch, grouped
from service.hsds.serialize import Serializer
from service.hsds.summaries import service_summaries


def _locations(connection: Connection, location_ids: list) -> dict:
    """Locations by id, each with its addresses, accessibility, phones, languages, schedules."""
    locations = {loc["id"]: loc for loc in fetch(connection, "location", "id", location_ids)}
    ids = list(locations)
    nested = {
        "addresses": grouped(fetch(connection, "address", "location_id", ids), "location_id"),
        "accessibility": grouped(fetch(connection, "accessibility", "location_id", ids), "location_id"),
        "phones": grouped(fetch(connection, "phone", "location_id", ids), "location_id"),
        "languages": grouped(fetch(connection, "language", "location_id", ids), "location_id"),
        "schedules": grouped(fetch(connection, "schedule", "location_id", ids), "location_id"),
    }
    for location_id, location in locations.items():
        for key, by_location in nested.items():
            location[key] = by_location.get(location_id, [])
    return locations


def _raw_services(connection: Connection, service_ids: Sequence[uuid.UUID], *, with_open_reports: bool) -> list[dict]:
    """Compiled services before the confidentiality rule and HSDS's shape, in ``service_ids`` order;
    without ``open_reports`` unless ``with_open_reports``."""
    rows = {
        row.id: row
        for row in connection.execute(text("SELECT * FROM service WHERE id = ANY(:ids)"), {"ids": list(service_ids)})
    }
    services = [{**clean(rows[i]), "category_groups": list(rows[i].category_groups)} for i in service_ids if i in rows]
    ids = [s["id"] for s in services]
    organizations = {
        o["id"]: o for o in fetch(connection, "organization", "id", (s["organization_id"] for s in services))
    }
    phones = grouped(fetch(connection, "phone", "service_id", ids), "service_id")
    schedules = grouped(fetch(connection, "schedule", "service_id", ids), "service_id")
    areas = grouped(fetch(connection, "service_area", "service_id", ids), "service_id")
    languages = grouped(fetch(connection, "language", "service_id", ids), "service_id")
    attributes = fetch(connection, "attribute", "link_id", ids)
    terms = {t["id"]: t for t in fetch(connection, "taxonomy_term", "id", (a["taxonomy_term_id"] for a in attributes))}
    for attribute in attributes:
        attribute["taxonomy_term"] = terms.get(attribute["taxonomy_term_id"])
    attributes_of = grouped(attributes, "link_id")
    capacities = fetch(connection, "service_capacity", "service_id", ids)
    units = {u["id"]: u for u in fetch(connection, "unit", "id", (c["unit_id"] for c in capacities))}
    for capacity in capacities:
        capacity["unit"] = units.get(capacity["unit_id"])
    capacities_of = grouped(capacities, "service_id")
    live = grouped(
        [
            dict(r._mapping)
            for r in connection.execute(
                text(
                    "SELECT service_id, unit, available, maximum, updated FROM capacity_live WHERE service_id = ANY(:ids)"
                ),
                {"ids": ids},
            )
        ],
        "service_id",
    )
    sals = fetch(connection, "service_at_location", "service_id", ids)
    locations = _locations(connection, [s["location_id"] for s in sals])
    sal_ids = [s["id"] for s in sals]
    sal_phones = grouped(fetch(connection, "phone", "service_at_location_id", sal_ids), "service_at_location_id")
    sal_schedules = grouped(fetch(connection, "schedule", "service_at_location_id", sal_ids), "service_at_location_id")
    for sal in sals:
        sal.update(
            location=locations[sal["location_id"]],
            phones=sal_phones.get(sal["id"], []),
            schedules=sal_schedules.get(sal["id"], []),
        )
    sals_of = grouped(sals, "service_id")
    reports_of = live_sites.open_reports_by_service(connection, ids) if with_open_reports else {}
    for service in services:
        service_id = service["id"]
        organization = organizations.get(service["organization_id"])
        service.update(
            organization=dict(organization) if organization else None,
            phones=phones.get(service_id, []),
            schedules=schedules.get(service_id, []),
            service_areas=areas.get(service_id, []),
            languages=languages.get(service_id, []),
            attributes=attributes_of.get(service_id, []),
            capacities=hsds_capacities(service_id, capacities_of.get(service_id, []), live.get(service_id, [])),
            service_at_locations=sals_of.get(service_id, []),
        )
        if with_open_reports:
            # fieldnav's own, as on result cards: unresolved field reports, so the detail warns too.
            service["open_reports"] = reports_of.get(service_id, [])
    return services


def compiled_services(
    connection: Connection,
    service_ids: Sequence[uuid.UUID],
    serializer: Serializer,
    *,
    with_open_reports: bool = True,
) -> list[dict]:
    """HSDS compiled services (schema compiled/service.json) plus HSDS 3.1 ``capacities`` and
    fieldnav's ``category_groups`` and ``open_reports``, each as it may be shown. The export
    passes ``with_open_reports=False``: it drops the live-only field, so it need not read it."""
    raw = _raw_services(connection, service_ids, with_open_reports=with_open_reports)
    return [serializer.of("service", confidential.compiled_service(s)) for s in raw]


def compiled_service_at_locations(
    connection: Connection, sal_ids: Sequence[uuid.UUID], serializer: Serializer
) -> list[dict]:
    """HSDS compiled service_at_locations (compiled/service_at_location.json): the site with
    its location, and its ``service`` compiled (without the service's other sites)."""
    pairs = connection.execute(
        text("SELECT id, service_id FROM service_at_location WHERE id = ANY(:ids)"), {"ids": list(sal_ids)}
    ).all()
    service_of = {row.id: row.service_id for row in pairs}
    services = {
        s["id"]: s
        for s in compiled_services(
            connection, list(dict.fromkeys(service_of[i] for i in sal_ids if i in service_of)), serializer
        )
    }
    shown = []
    for sal_id in sal_ids:
        service = services.get(service_of.get(sal_id))
        if service is None:
            continue
        sal = next(s for s in service["service_at_locations"] if str(s["id"]) == str(sal_id))
        shown.append({**sal, "service": {k: v for k, v in service.items() if k != "service_at_locations"}})
    return shown


def compiled_organizations(
    connection: Connection, organization_ids: Sequence[uuid.UUID], serializer: Serializer, *, full_service: bool
) -> list[dict]:
    """HSDS compiled organizations (compiled/organization.json): with their phones, locations
    and services (each service compiled with ``full_service``, else its list shape)."""
    rows = {o["id"]: o for o in fetch(connection, "organization", "id", organization_ids)}
    ids = [i for i in organization_ids if i in rows]
    private = confidential_organizations(connection, ids)
    phones = grouped(fetch(connection, "phone", "organization_id", ids), "organization_id")
    location_ids = [
        r.id
        for r in connection.execute(
            text("SELECT id FROM location WHERE organization_id = ANY(:ids) ORDER BY id"), {"ids": ids}
        )
    ]
    locations = _locations(connection, location_ids)
    private_locations = confidential_locations(connection, location_ids)
    locations_of = grouped(
        [
            confidential.allow(loc, confidential.LOCATION) if loc["id"] in private_locations else loc
            for loc in locations.values()
        ],
        "organization_id",
    )
    services_of: dict = {}
    for row in connection.execute(
        text("SELECT organization_id, id FROM service WHERE organization_id = ANY(:ids) ORDER BY id"), {"ids": ids}
    ):
        services_of.setdefault(row.organization_id, []).append(row.id)
    every_service = [i for service_ids in services_of.values() for i in service_ids]
    services = {
        s["id"]: s
        for s in (
            compiled_services(connection, every_service, serializer)
            if full_service
            else service_summaries(connection, every_service, serializer)
        )
    }
    shown = []
    for organization_id in ids:
        organization = rows[organization_id]
        if organization_id in private:
            organization = confidential.allow(organization, confidential.ORGANIZATION)
        own_phones = phones.get(organization_id, [])
        shown.append(
            serializer.of(
                "organization",
                {
                    **organization,
                    "phones": [confidential.allow(p, confidential.PHONE) for p in own_phones]
                    if organization_id in private
                    else own_phones,
                    "locations": locations_of.get(organization_id, []),
                },
            )
            | {"services": [services[i] for i in services_of.get(organization_id, []) if i in services]}
        )
    return shown
