"""HSDS 1.x/2.x tabular datapackages (e.g. Open211 Miami 2019), mapped to HSDS 3 tables.

What changes on the way in:
- physical_addresses / postal_addresses -> address (address_type physical / postal);
- regular_schedules (one row per weekday) -> schedule (freq WEEKLY, byday). Numeric
  weekdays are read as ISO 8601 (1 = Monday ... 7 = Sunday);
- services_taxonomy + taxonomy -> attribute + taxonomy_term (the legacy taxonomy id is the
  term's code, e.g. AIRS "BH-1800.8500");
- eligibility -> appended to service.eligibility_description;
- accessibility_for_disabilities -> accessibility; languages get ISO codes where the name
  is a language;
- organization.url -> website.
Rows without an id get one derived from their content (see ``validate.py``).
"""

from __future__ import annotations

from service.directory.languages import language_code
from service.importer.readers.package_files import PackageFiles
from service.importer.records import Origin, RowProblem, SourceData

# Present in 1.x/2.x packages and absent from 3.x ones: any of them means "legacy".
LEGACY_MARKERS = (
    "physical_addresses.csv",
    "postal_addresses.csv",
    "regular_schedules.csv",
    "services_taxonomy.csv",
    "services_at_location.csv",
    "accessibility_for_disabilities.csv",
    "taxonomy.csv",
)

WEEKDAYS = {
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
    "sunday": "SU",
    "1": "MO",
    "2": "TU",
    "3": "WE",
    "4": "TH",
    "5": "FR",
    "6": "SA",
    "7": "SU",
}


def is_legacy(files: PackageFiles) -> bool:
    return any(files.has(name) for name in LEGACY_MARKERS)


def _pick(row: dict, *columns: str) -> dict:
    return {c: row.get(c) for c in columns if c in row}


def _copy(files: PackageFiles, data: SourceData, name: str, table: str, shape) -> None:
    if not files.has(name):
        return
    for number, row in files.csv_rows(name):
        values = shape(row)
        if values is not None:
            data.add(table, values, Origin(name, number))


def _organization(row: dict) -> dict:
    values = _pick(
        row,
        "id",
        "name",
        "alternate_name",
        "description",
        "email",
        "tax_status",
        "tax_id",
        "year_incorporated",
        "legal_status",
        "logo",
        "uri",
    )
    values["website"] = row.get("website") or row.get("url")
    return values


def _service(row: dict) -> dict:
    return _pick(
        row,
        "id",
        "organization_id",
        "program_id",
        "name",
        "alternate_name",
        "description",
        "url",
        "email",
        "status",
        "interpretation_services",
        "application_process",
        "fees_description",
        "wait_time",
        "fees",
        "accreditations",
        "eligibility_description",
        "minimum_age",
        "maximum_age",
        "assured_date",
        "assurer_email",
        "licenses",
        "alert",
    )


def _location(row: dict) -> dict:
    return _pick(
        row,
        "id",
        "organization_id",
        "name",
        "alternate_name",
        "description",
        "transportation",
        "latitude",
        "longitude",
        "location_type",
        "url",
    )


def _address(address_type: str):
    def shape(row: dict) -> dict:
        values = _pick(
            row,
            "id",
            "location_id",
            "attention",
            "address_1",
            "address_2",
            "city",
            "region",
            "state_province",
            "postal_code",
            "country",
        )
        values["address_type"] = address_type
        return values

    return shape


def _phone(row: dict) -> dict:
    return _pick(
        row,
        "id",
        "location_id",
        "service_id",
        "organization_id",
        "service_at_location_id",
        "number",
        "extension",
        "type",
        "description",
    )


def _taxonomy_term(row: dict) -> dict:
    return {
        "id": row.get("id"),
        "code": row.get("id"),
        "name": row.get("name"),
        "parent_id": row.get("parent_id"),
        "taxonomy": row.get("vocabulary"),
    }


def _attribute(row: dict) -> dict:
    return {
        "id": row.get("id"),
        "link_id": row.get("service_id"),
        "link_entity": "service",
        "link_type": "service_taxonomy",
        "taxonomy_term_id": row.get("taxonomy_id"),
        "value": row.get("taxonomy_detail"),
    }


def _language(row: dict) -> dict:
    name = (row.get("language") or "").strip()
    return {
        # Legacy exports reuse one id for all of a service's languages: key by id + name.
        "id": f"{row['id']}:{name}" if row.get("id") else None,
        "service_id": row.get("service_id"),
        "location_id": row.get("location_id"),
        "name": name,
        "code": language_code(name),
    }


def _accessibility(row: dict) -> dict:
    return {
        "id": row.get("id"),
        "location_id": row.get("location_id"),
        "description": row.get("accessibility"),
        "details": row.get("details"),
    }


def _service_area(row: dict) -> dict:
    return {
        "id": row.get("id"),
        "service_id": row.get("service_id"),
        "name": row.get("service_area"),
        "description": row.get("description"),
    }


def _read_schedules(files: PackageFiles, data: SourceData) -> None:
    name = "regular_schedules.csv"
    if not files.has(name):
        return
    for number, row in files.csv_rows(name):
        weekday = (row.get("weekday") or "").strip().lower()
        byday = WEEKDAYS.get(weekday)
        if byday is None:
            data.problems.append(RowProblem(name, number, "weekday", f"{row.get('weekday')!r} is not a weekday"))
            continue
        values = _pick(row, "service_id", "location_id", "service_at_location_id", "opens_at", "closes_at")
        values.update(id=row.get("id"), freq="WEEKLY", byday=byday, description=row.get("original_text"))
        data.add("schedule", values, Origin(name, number))


def _read_eligibility(files: PackageFiles, data: SourceData) -> None:
    """Fold eligibility rows into their services' eligibility_description."""
    name = "eligibility.csv"
    if not files.has(name):
        return
    by_service: dict[str, list[str]] = {}
    for number, row in files.csv_rows(name):
        service_id, text = (row.get("service_id") or "").strip(), (row.get("eligibility") or "").strip()
        if not text:
            continue
        if not service_id:
            reason = "missing: the eligibility cannot be linked to a service"
            data.problems.append(RowProblem(name, number, "service_id", reason))
            continue
        by_service.setdefault(service_id, []).append(text)
    for service_row in data.rows.get("service", []):
        extra = by_service.pop(str(service_row.values.get("id") or "").strip(), None)
        if extra:
            existing = service_row.values.get("eligibility_description")
            service_row.values["eligibility_description"] = "\n".join(([existing] if existing else []) + extra)
    for service_id in by_service:
        data.problems.append(RowProblem(name, 0, "service_id", f"{service_id!r} matches no service in services.csv"))


HANDLED = {
    "organizations.csv",
    "services.csv",
    "locations.csv",
    "services_at_location.csv",
    "service_at_location.csv",
    "physical_addresses.csv",
    "postal_addresses.csv",
    "phones.csv",
    "regular_schedules.csv",
    "taxonomy.csv",
    "services_taxonomy.csv",
    "languages.csv",
    "accessibility_for_disabilities.csv",
    "eligibility.csv",
    "service_areas.csv",
    "datapackage.json",
}


def read(files: PackageFiles) -> SourceData:
    data = SourceData(format="hsds-1-tabular")
    _copy(files, data, "organizations.csv", "organization", _organization)
    _copy(files, data, "services.csv", "service", _service)
    _copy(files, data, "locations.csv", "location", _location)
    for name in ("services_at_location.csv", "service_at_location.csv"):
        _copy(
            files,
            data,
            name,
            "service_at_location",
            lambda r: _pick(r, "id", "service_id", "location_id", "description"),
        )
    _copy(files, data, "physical_addresses.csv", "address", _address("physical"))
    _copy(files, data, "postal_addresses.csv", "address", _address("postal"))
    _copy(files, data, "phones.csv", "phone", _phone)
    _read_schedules(files, data)
    _copy(files, data, "taxonomy.csv", "taxonomy_term", _taxonomy_term)
    _copy(files, data, "services_taxonomy.csv", "attribute", _attribute)
    _copy(files, data, "languages.csv", "language", _language)
    _copy(files, data, "accessibility_for_disabilities.csv", "accessibility", _accessibility)
    _copy(files, data, "service_areas.csv", "service_area", _service_area)
    _read_eligibility(files, data)
    data.ignored_files = [n for n in files.names() if n.endswith(".csv") and n not in HANDLED]
    return data
