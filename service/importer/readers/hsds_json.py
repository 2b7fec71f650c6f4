"""HSDS 3.x JSON: compiled service objects, flattened into table rows.

Accepted shapes: a list of service objects, one service object, an HSDS ``Page``
(``{"contents": [...]}``), newline-delimited JSON (one service per line), and the compiled
organization (with ``services``) and service_at_location (with ``service`` and
``location``) objects. fieldnav extensions read here: ``location.address_private`` and,
from HSDS 3.1, ``service.capacities`` (service_capacity objects with their ``unit``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from service.importer.records import ImportRefused, Origin, RowProblem, SourceData

# Deeper than any HSDS object; refuses JSON built to exhaust the stack or memory.
MAX_DEPTH = 32


def _records(path: Path) -> Iterator[tuple[int, object]]:
    try:
        text = path.read_text("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRefused(f"{path.name}: not UTF-8 text (byte {error.start})") from None
    stripped = text.lstrip()
    if stripped.startswith("[") or (stripped.startswith("{") and "\n{" not in stripped.rstrip()):
        try:
            loaded = json.loads(text)
        except (ValueError, RecursionError) as error:
            raise ImportRefused(f"{path.name}: not valid JSON ({error})") from None
        if isinstance(loaded, dict) and isinstance(loaded.get("contents"), list):
            loaded = loaded["contents"]
        items = loaded if isinstance(loaded, list) else [loaded]
        yield from enumerate(items, start=1)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except (ValueError, RecursionError) as error:
            yield number, ImportRefused(f"line {number} is not valid JSON ({error})")


def _depth(value, limit: int = MAX_DEPTH) -> int:
    stack, deepest = [(value, 1)], 1
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


class _Flattener:
    def __init__(self, data: SourceData, file: str, record: int):
        self.data, self.file, self.record = data, file, record

    def emit(self, table: str, obj: dict, path: str, **links) -> str | None:
        values = {k: v for k, v in obj.items() if not isinstance(v, (dict, list))}
        values.update({k: v for k, v in links.items() if v is not None})
        self.data.add(table, values, Origin(self.file, self.record, path))
        return obj.get("id")

    def children(self, obj: dict, key: str, path: str) -> Iterator[tuple[dict, str]]:
        items = obj.get(key) or []
        if not isinstance(items, list):
            self.data.problems.append(RowProblem(self.file, self.record, f"{path}.{key}", "is not a list"))
            return
        for index, item in enumerate(items):
            if isinstance(item, dict):
                yield item, f"{path}.{key}[{index}]"

    def organization(self, obj: dict, path: str) -> str | None:
        org_id = self.emit("organization", obj, path)
        for phone, p in self.children(obj, "phones", path):
            self.phone(phone, p, organization_id=org_id)
        return org_id

    def service(self, obj: dict, path: str, organization_id: str | None = None) -> None:
        if isinstance(obj.get("organization"), dict):
            organization_id = self.organization(obj["organization"], f"{path}.organization")
        service_id = self.emit("service", obj, path, organization_id=organization_id or obj.get("organization_id"))
        for phone, p in self.children(obj, "phones", path):
            self.phone(phone, p, service_id=service_id)
        for schedule, p in self.children(obj, "schedules", path):
            self.emit("schedule", schedule, p, service_id=service_id)
        for area, p in self.children(obj, "service_areas", path):
            self.emit("service_area", area, p, service_id=service_id)
        for language, p in self.children(obj, "languages", path):
            self.emit("language", language, p, service_id=service_id)
        for attribute, p in self.children(obj, "attributes", path):
            self.attribute(attribute, p, link_id=service_id, link_entity="service")
        for capacity, p in self.children(obj, "capacities", path):
            unit = capacity.get("unit")
            unit_id = self.emit("unit", unit, f"{p}.unit") if isinstance(unit, dict) else capacity.get("unit_id")
            self.emit("service_capacity", capacity, p, service_id=service_id, unit_id=unit_id)
        for sal, p in self.children(obj, "service_at_locations", path):
            self.service_at_location(sal, p, service_id=service_id)

    def service_at_location(self, obj: dict, path: str, service_id: str | None) -> None:
        location_id = obj.get("location_id")
        if isinstance(obj.get("location"), dict):
            location_id = self.location(obj["location"], f"{path}.location")
        sal_id = self.emit("service_at_location", obj, path, service_id=service_id, location_id=location_id)
        for phone, p in self.children(obj, "phones", path):
            self.phone(phone, p, service_at_location_id=sal_id)
        for schedule, p in self.children(obj, "schedules", path):
            self.emit("schedule", schedule, p, service_at_location_id=sal_id)

    def location(self, obj: dict, path: str) -> str | None:
        location_id = self.emit("location", obj, path)
        for address, p in self.children(obj, "addresses", path):
            self.emit("address", address, p, location_id=location_id)
        for item, p in self.children(obj, "accessibility", path):
            self.emit("accessibility", item, p, location_id=location_id)
        for phone, p in self.children(obj, "phones", path):
            self.phone(phone, p, location_id=location_id)
        for language, p in self.children(obj, "languages", path):
            self.emit("language", language, p, location_id=location_id)
        for schedule, p in self.children(obj, "schedules", path):
            self.emit("schedule", schedule, p, location_id=location_id)
        for attribute, p in self.children(obj, "attributes", path):
            self.attribute(attribute, p, link_id=location_id, link_entity="location")
        return location_id

    def phone(self, obj: dict, path: str, **links) -> None:
        phone_id = self.emit("phone", obj, path, **links)
        for language, p in self.children(obj, "languages", path):
            self.emit("language", language, p, phone_id=phone_id)

    def attribute(self, obj: dict, path: str, link_id: str | None, link_entity: str) -> None:
        term = obj.get("taxonomy_term")
        term_id = obj.get("taxonomy_term_id")
        if isinstance(term, dict):
            taxonomy = term.get("taxonomy_detail")
            taxonomy_id = (
                self.emit("taxonomy", taxonomy, f"{path}.taxonomy_term.taxonomy_detail")
                if isinstance(taxonomy, dict)
                else term.get("taxonomy_id")
            )
            term_id = self.emit("taxonomy_term", term, f"{path}.taxonomy_term", taxonomy_id=taxonomy_id)
        # HSDS examples put placeholder text in link_entity; the object we found it in is
        # the truth.
        self.emit("attribute", obj, path, link_id=link_id, link_entity=link_entity, taxonomy_term_id=term_id)


def read(path: Path) -> SourceData:
    data = SourceData(format="hsds-3-json")
    for number, record in _records(path):
        if isinstance(record, ImportRefused):
            data.problems.append(RowProblem(path.name, number, "(record)", str(record)))
            continue
        if not isinstance(record, dict):
            data.problems.append(RowProblem(path.name, number, "(record)", "is not a JSON object"))
            continue
        if _depth(record) > MAX_DEPTH:
            data.problems.append(RowProblem(path.name, number, "(record)", f"nested deeper than {MAX_DEPTH} levels"))
            continue
        flattener = _Flattener(data, path.name, number)
        if isinstance(record.get("services"), list):  # compiled organization
            org_id = flattener.organization(record, "organization")
            for service, p in flattener.children(record, "services", "organization"):
                flattener.service(service, p, organization_id=org_id)
        elif isinstance(record.get("service"), dict):  # compiled service_at_location
            service = dict(
                record["service"], service_at_locations=[{k: v for k, v in record.items() if k != "service"}]
            )
            flattener.service(service, "service_at_location.service")
        else:
            flattener.service(record, "service")
    return data
