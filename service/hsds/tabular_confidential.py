"""The confidentiality rule (service/directory/confidential.py) on table rows: what the HSDS
API shows of a confidential site, the tabular export shows too. A confidential location keeps
only what ``LOCATION`` allows (no name, position or text) and loses its addresses and
accessibility; a confidential service (one with a confidential site) keeps what ``SERVICE``
allows and loses its service areas; their phones, schedules, languages, attributes and
capacities, and the service_at_location of a confidential site, go by their own allow-lists;
an organization with a confidential site shows its name only, as compiled organizations do.

The confidential ids are few (one per shelter, not per service), so they are held in memory."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from service.directory import confidential

_LOCATIONS = text("SELECT id FROM location WHERE address_private")
_SITES = text(
    "SELECT sal.id FROM service_at_location sal JOIN location l ON l.id = sal.location_id WHERE l.address_private"
)
_SERVICES = text("""
    SELECT DISTINCT sal.service_id FROM service_at_location sal JOIN location l ON l.id = sal.location_id
    WHERE l.address_private
""")
# As service/hsds/confidential_ids.py: an organization whose site or service's site is confidential.
_ORGANIZATIONS = text("""
    SELECT organization_id FROM location WHERE address_private AND organization_id IS NOT NULL
    UNION
    SELECT s.organization_id FROM service s JOIN service_at_location sal ON sal.service_id = s.id
    JOIN location l ON l.id = sal.location_id WHERE l.address_private AND s.organization_id IS NOT NULL
""")

# Rows withheld whole when their owner (column) is confidential: their text or extent places the site.
_DROPPED = {"address": "location_id", "accessibility": "location_id", "service_area": "service_id"}
_ALLOW_LISTS = {
    "organization": confidential.ORGANIZATION,
    "service": confidential.SERVICE,
    "location": confidential.LOCATION,
    "service_at_location": confidential.SERVICE_AT_LOCATION,
    "phone": confidential.PHONE,
    "schedule": confidential.SCHEDULE,
    "language": confidential.LANGUAGE,
    "attribute": confidential.ATTRIBUTE,
    "service_capacity": confidential.CAPACITY,
}


@dataclass(frozen=True)
class ConfidentialIds:
    locations: frozenset
    sites: frozenset  # service_at_location ids
    services: frozenset
    organizations: frozenset

    @classmethod
    def read(cls, connection: Connection) -> ConfidentialIds:
        def ids(statement) -> frozenset:
            return frozenset(connection.execute(statement).scalars())

        return cls(ids(_LOCATIONS), ids(_SITES), ids(_SERVICES), ids(_ORGANIZATIONS))

    def _owned_by_one(self, row: dict) -> bool:
        """Whether ``row`` (a phone, schedule, language, attribute, capacity...) belongs to a
        confidential location, site, service or organization."""
        return (
            row.get("location_id") in self.locations
            or row.get("service_at_location_id") in self.sites
            or row.get("service_id") in self.services
            or row.get("organization_id") in self.organizations
            or row.get("link_id") in self.services
            or row.get("link_id") in self.locations
        )

    def _is_confidential(self, table: str, row: dict) -> bool:
        own = {
            "organization": self.organizations,
            "service": self.services,
            "location": self.locations,
            "service_at_location": self.sites,
        }.get(table)
        return row["id"] in own if own is not None else self._owned_by_one(row)

    def shown(self, table: str, row: dict) -> dict | None:
        """``row`` as it may be shown; None when it is withheld whole."""
        owner = _DROPPED.get(table)
        if owner is not None:
            held_by = self.locations if owner == "location_id" else self.services
            return None if row.get(owner) in held_by else row
        allowed = _ALLOW_LISTS.get(table)
        if allowed is None or not self._is_confidential(table, row):
            return row
        return confidential.allow(row, allowed)
