"""Rows to HSDS 3.0 objects exactly as the official schemas say (tests/data/hsds-3.0/schema):

- an absent value is left out, never ``null`` (HSDS types each field as a string, number...,
  not as "or null"); lists stay lists, empty or not;
- a schedule's ``timezone`` is the UTC offset in hours (HSDS 3.0 types it a number) of its
  zone at the instant given; the IANA name fieldnav keeps goes in ``timezone_name`` (the
  schemas allow extra properties: none sets ``additionalProperties``);
- a required text field fieldnav has no value for is the empty string: an address keeps
  its street, city, province, postal code and country as far as they are known, and HSDS's
  ``description`` of an organization, a taxonomy or a term is "" when there is none.

Objects are walked by the key that holds them (``schedules`` holds schedules...), so the same
rule applies wherever HSDS nests an object: service, service_at_location, location,
organization. What is shown of a confidential site is decided before (service/directory/
confidential.py): a withheld field is null there, so it is left out here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from service.hsds.timezones import utc_offset_h

# The key holding an object (or a list of them) -> the HSDS object it is.
_KIND_OF_KEY = {
    "schedules": "schedule",
    "addresses": "address",
    "organization": "organization",
    "organizations": "organization",
    "taxonomy_term": "taxonomy_term",
    "taxonomy_detail": "taxonomy",
    "program": "program",
    "programs": "program",
}

# HSDS required text fields fieldnav may not hold (ids, names, statuses and types it always has).
_REQUIRED_TEXT = {
    "address": ("address_1", "city", "state_province", "postal_code", "country"),
    "organization": ("description",),
    "taxonomy_term": ("description",),
    "taxonomy": ("description",),
    "program": ("description",),
}


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


class Serializer:
    """HSDS objects with schedule offsets taken at ``at``; schedules without a zone are in
    ``default_zone`` (as hours are computed: service/directory/hours.py)."""

    def __init__(self, *, at: datetime, default_zone: str):
        self.at, self.default_zone = at, default_zone

    def value(self, value: Any, kind: str | None = None) -> Any:
        if isinstance(value, dict):
            return self.object(value, kind)
        if isinstance(value, list):
            return [self.value(item, kind) for item in value if item is not None]
        if isinstance(value, Decimal):
            return _number(value)
        return value

    def object(self, row: dict, kind: str | None = None) -> dict:
        shown = {key: self.value(field, _KIND_OF_KEY.get(key)) for key, field in row.items() if field is not None}
        if kind == "schedule":
            named = shown.get("timezone")
            zone_name = named if isinstance(named, str) else self.default_zone
            shown["timezone"] = utc_offset_h(zone_name, self.at)
            shown["timezone_name"] = zone_name
        for field in _REQUIRED_TEXT.get(kind or "", ()):
            shown.setdefault(field, "")
        return shown

    def of(self, kind: str, row: dict) -> dict:
        """One HSDS object of ``kind`` (service, organization, taxonomy, taxonomy_term...)."""
        return self.object(row, kind)
