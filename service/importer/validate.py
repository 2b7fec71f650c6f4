"""Check and type every raw row, map ids to UUIDs, and resolve references.

A row is skipped (and reported) when a value cannot be read, a required value is missing,
or a required link points at a record that is not in the import. Some values are dropped
rather than the row: coordinates that cannot be true (the place is still a service you can
call), an unreadable schedule time zone (the default zone applies: service/importer/zones.py) and optional links to a
record that is not in the import.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from service.importer.fields import TABLES, UUID, Table
from service.importer.records import RawRow, RowProblem, SourceData
from service.importer.values import is_blank, parse, stable_id
from service.importer.zones import schedule_zone

# A clock a few minutes ahead of ours is not a count from the future.
FUTURE_LEEWAY = timedelta(minutes=5)

SERVICE_STATUSES = {"active", "inactive", "defunct", "temporarily closed"}

# Id columns that point at a table without a foreign key (or at a table we do not store).
UNCHECKED_ID_TARGETS = {
    ("organization", "parent_organization_id"): "organization",
    ("taxonomy_term", "parent_id"): "taxonomy_term",
    ("service", "program_id"): "program",
    ("phone", "contact_id"): "contact",
}

LINK_ENTITY_TABLES = {"service": "service", "location": "location", "organization": "organization"}


@dataclass
class ValidRows:
    """Typed rows per table, keyed by UUID, ready to write."""

    tables: dict[str, dict[uuid.UUID, dict]] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)

    def rows(self, table: str) -> dict[uuid.UUID, dict]:
        return self.tables.setdefault(table, {})


def _content_key(values: dict) -> str:
    canonical = json.dumps({k: v for k, v in values.items() if not is_blank(v)}, sort_keys=True, default=str)
    return "row:" + hashlib.sha1(canonical.encode()).hexdigest()


class _RowChecker:
    def __init__(self, source: str, valid: ValidRows, default_zone: str):
        self.source, self.valid, self.default_zone = source, valid, default_zone
        self.year = datetime.now(UTC).year

    def check(self, table: Table, raw: RawRow) -> dict | None:
        problems: list[RowProblem] = []

        def problem(column: str, reason: str, action: str = "row skipped") -> None:
            problems.append(RowProblem(raw.origin.file, raw.origin.row, raw.origin.field_name(column), reason, action))

        original_id = raw.values.get("id")
        source_id = None if is_blank(original_id) else str(original_id).strip()
        row = {
            "id": stable_id(self.source, table.name, source_id or _content_key(raw.values)),
            "source": self.source,
            "source_id": source_id,
        }
        for column, kind in table.columns.items():
            if column == "id":
                continue
            value = raw.values.get(column)
            if kind == UUID:
                row[column] = (
                    None if is_blank(value) else stable_id(self.source, self._id_target(table, column, raw), value)
                )
                continue
            try:
                row[column] = parse(kind, value)
            except ValueError as error:
                problem(column, str(error))
        self._table_rules(table, row, raw, problem)
        for column in table.required:
            if row.get(column) is None and not any(p.field.endswith(column) for p in problems):
                problem(column, "missing (required)")
        for column, target in (table.references or {}).items():
            if row.get(column) is not None and row[column] not in self.valid.rows(target):
                reason = f"{raw.values.get(column)!r} is not a {target} in this import (or it was skipped)"
                if column in table.required:
                    problem(column, reason)
                else:
                    # An optional link to a missing record (real exports have them) loses
                    # the link, not the row: the service is still worth finding.
                    problem(column, reason, "value dropped")
                    row[column] = None
        if (
            table.owners
            and all(row.get(column) is None for column in table.owners)
            and not any(p.action == "row skipped" for p in problems)
        ):
            problem(table.owners[0], f"belongs to nothing in this import (needs one of {', '.join(table.owners)})")
        self.valid.problems.extend(problems)
        if any(p.action == "row skipped" for p in problems):
            return None
        return row

    @staticmethod
    def _id_target(table: Table, column: str, raw: RawRow) -> str:
        if table.name == "attribute" and column == "link_id":
            return LINK_ENTITY_TABLES.get(str(raw.values.get("link_entity") or "").strip(), "service")
        target = (table.references or {}).get(column) or UNCHECKED_ID_TARGETS.get((table.name, column))
        return target or column.removesuffix("_id")

    def _table_rules(self, table: Table, row: dict, raw: RawRow, problem) -> None:
        name = table.name
        if name == "location":
            _check_coordinates(row, problem)
            row["address_private"] = bool(row.get("address_private"))
            row["location_type"] = row.get("location_type") or "physical"
        elif name == "service":
            status = (row.get("status") or "active").lower()
            if status not in SERVICE_STATUSES:
                problem("status", f"{row['status']!r} is not one of {sorted(SERVICE_STATUSES)}")
            row["status"] = status
            for column in ("minimum_age", "maximum_age"):
                if row.get(column) is not None and not 0 <= row[column] <= 130:
                    problem(column, f"{row[column]} is not an age in years")
        elif name == "schedule":
            zone = schedule_zone(row.get("timezone"), raw.values.get("timezone_name"), self.default_zone, self.year)
            if zone.problem:
                problem("timezone", zone.problem, zone.action)
            row["timezone"] = zone.zone_name
        elif name == "service_capacity":
            if row.get("available") is not None and row["available"] < 0:
                problem("available", "cannot be negative")
            # A count from the future (a local time labelled UTC) would win over every live
            # update until that time (service/capacity/merge.py), and never go stale.
            updated = row.get("updated")
            if isinstance(updated, datetime) and updated > datetime.now(UTC) + FUTURE_LEEWAY:
                problem("updated", f"{updated.isoformat()} is in the future")
        elif name == "address":
            row["address_type"] = row.get("address_type") or "physical"


def _check_coordinates(row: dict, problem) -> None:
    latitude, longitude = row.get("latitude"), row.get("longitude")
    if latitude is None and longitude is None:
        return
    reason = None
    if latitude is None or longitude is None:
        reason = "only one of latitude/longitude is given"
    elif not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        reason = f"({latitude}, {longitude}) is not a place on Earth"
    elif latitude == 0 and longitude == 0:
        reason = "(0, 0) is a failed geocode, not a place"
    if reason:
        problem("latitude", reason + "; kept without a map position", "value dropped")
        row["latitude"] = row["longitude"] = None


def validate(data: SourceData, source: str, default_zone: str) -> ValidRows:
    """``default_zone``: the IANA zone of schedules that name none (service/importer/zones.py)."""
    valid = ValidRows(problems=list(data.problems))
    checker = _RowChecker(source, valid, default_zone)
    for table in TABLES:
        accepted = valid.rows(table.name)
        first_seen: dict[uuid.UUID, RawRow] = {}
        for raw in data.rows.get(table.name, []):
            row = checker.check(table, raw)
            if row is None:
                continue
            existing = accepted.get(row["id"])
            if existing is None:
                accepted[row["id"]] = row
                first_seen[row["id"]] = raw
            elif existing != row:
                first = first_seen[row["id"]].origin
                valid.problems.append(
                    RowProblem(
                        raw.origin.file,
                        raw.origin.row,
                        raw.origin.field_name("id"),
                        f"id {row['source_id']!r} was already used at {first.file} row {first.row} with other values",
                    )
                )
    return valid
