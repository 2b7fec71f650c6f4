"""Which of some services, locations or organizations are confidential (a location with
``address_private``), in one query each, for the rule of service/directory/confidential.py."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, text

_SERVICES = text("""
    SELECT DISTINCT sal.service_id FROM service_at_location sal JOIN location l ON l.id = sal.location_id
    WHERE l.address_private AND sal.service_id = ANY(:ids)
""")
_LOCATIONS = text("SELECT id FROM location WHERE address_private AND id = ANY(:ids)")
# An organization is confidential when one of its services or locations is: its own text could
# be about the site (service/directory/confidential.py withholds "the organization's other fields").
_ORGANIZATIONS = text("""
    SELECT o.id FROM organization o WHERE o.id = ANY(:ids) AND (
        EXISTS (SELECT 1 FROM location l WHERE l.organization_id = o.id AND l.address_private)
        OR EXISTS (SELECT 1 FROM service s JOIN service_at_location sal ON sal.service_id = s.id
                   JOIN location l ON l.id = sal.location_id WHERE s.organization_id = o.id AND l.address_private))
""")


def _ids(connection: Connection, statement, ids: Iterable) -> set:
    wanted = [i for i in dict.fromkeys(ids) if i is not None]
    return set(connection.execute(statement, {"ids": wanted}).scalars()) if wanted else set()


def confidential_services(connection: Connection, ids: Iterable) -> set:
    return _ids(connection, _SERVICES, ids)


def confidential_locations(connection: Connection, ids: Iterable) -> set:
    return _ids(connection, _LOCATIONS, ids)


def confidential_organizations(connection: Connection, ids: Iterable) -> set:
    return _ids(connection, _ORGANIZATIONS, ids)
