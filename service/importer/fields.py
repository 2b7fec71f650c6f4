"""The HSDS 3.x tables fieldnav stores, their columns and value types.

One table of facts shared by every reader, the validator and the writer, so the three
never disagree about what a column holds.
"""

from __future__ import annotations

from dataclasses import dataclass

# Value types a column can hold; see ``values.py`` for how text becomes each.
UUID, TEXT, INT, NUM, DATE, DATETIME, TIME, BOOL = "uuid", "text", "int", "num", "date", "datetime", "time", "bool"


@dataclass(frozen=True)
class Table:
    name: str
    columns: dict[str, str]
    # Columns that must hold a value or the row is skipped.
    required: tuple[str, ...] = ()
    # Column -> table it points at. A required link to a missing parent skips the row; an
    # optional one is dropped.
    references: dict[str, str] | None = None
    # For rows that only make sense under a parent (a phone, a schedule): at least one of
    # these links must survive, or the row is skipped as an orphan.
    owners: tuple[str, ...] = ()


def _t(name, columns, required=(), references=None, owners=()) -> Table:
    return Table(name, {"id": UUID, **columns}, ("id", *required), references or {}, owners)


# Insert order: parents before children (the writer deletes in the reverse order).
TABLES: tuple[Table, ...] = (
    _t(
        "organization",
        {
            "name": TEXT,
            "alternate_name": TEXT,
            "description": TEXT,
            "email": TEXT,
            "website": TEXT,
            "tax_status": TEXT,
            "tax_id": TEXT,
            "year_incorporated": INT,
            "legal_status": TEXT,
            "logo": TEXT,
            "uri": TEXT,
            "parent_organization_id": UUID,
        },
        required=("name",),
    ),
    _t("taxonomy", {"name": TEXT, "description": TEXT, "uri": TEXT, "version": TEXT}, required=("name",)),
    _t(
        "taxonomy_term",
        {
            "code": TEXT,
            "name": TEXT,
            "description": TEXT,
            "parent_id": UUID,
            "taxonomy": TEXT,
            "language": TEXT,
            "taxonomy_id": UUID,
            "term_uri": TEXT,
        },
        required=("name",),
        references={"taxonomy_id": "taxonomy"},
    ),
    _t("unit", {"name": TEXT, "scheme": TEXT, "identifier": TEXT, "uri": TEXT}, required=("name",)),
    _t(
        "service",
        {
            "organization_id": UUID,
            "program_id": UUID,
            "name": TEXT,
            "alternate_name": TEXT,
            "description": TEXT,
            "url": TEXT,
            "email": TEXT,
            "status": TEXT,
            "interpretation_services": TEXT,
            "application_process": TEXT,
            "fees_description": TEXT,
            "wait_time": TEXT,
            "fees": TEXT,
            "accreditations": TEXT,
            "eligibility_description": TEXT,
            "minimum_age": NUM,
            "maximum_age": NUM,
            "assured_date": DATE,
            "assurer_email": TEXT,
            "licenses": TEXT,
            "alert": TEXT,
            "last_modified": DATETIME,
        },
        required=("name",),
        references={"organization_id": "organization"},
    ),
    _t(
        "location",
        {
            "location_type": TEXT,
            "url": TEXT,
            "organization_id": UUID,
            "name": TEXT,
            "alternate_name": TEXT,
            "description": TEXT,
            "transportation": TEXT,
            "latitude": NUM,
            "longitude": NUM,
            "external_identifier": TEXT,
            "external_identifier_type": TEXT,
            "address_private": BOOL,
        },
        references={"organization_id": "organization"},
    ),
    _t(
        "service_at_location",
        {"service_id": UUID, "location_id": UUID, "description": TEXT},
        required=("service_id", "location_id"),
        references={"service_id": "service", "location_id": "location"},
    ),
    _t(
        "address",
        {
            "location_id": UUID,
            "attention": TEXT,
            "address_1": TEXT,
            "address_2": TEXT,
            "city": TEXT,
            "region": TEXT,
            "state_province": TEXT,
            "postal_code": TEXT,
            "country": TEXT,
            "address_type": TEXT,
        },
        references={"location_id": "location"},
        owners=("location_id",),
    ),
    _t(
        "phone",
        {
            "location_id": UUID,
            "service_id": UUID,
            "organization_id": UUID,
            "contact_id": UUID,
            "service_at_location_id": UUID,
            "number": TEXT,
            "extension": TEXT,
            "type": TEXT,
            "description": TEXT,
        },
        required=("number",),
        references={
            "location_id": "location",
            "service_id": "service",
            "organization_id": "organization",
            "service_at_location_id": "service_at_location",
        },
        owners=("location_id", "service_id", "organization_id", "service_at_location_id", "contact_id"),
    ),
    _t(
        "schedule",
        {
            "service_id": UUID,
            "location_id": UUID,
            "service_at_location_id": UUID,
            "valid_from": DATE,
            "valid_to": DATE,
            "dtstart": DATE,
            "timezone": TEXT,
            "until": DATE,
            "count": INT,
            "wkst": TEXT,
            "freq": TEXT,
            "interval": INT,
            "byday": TEXT,
            "byweekno": TEXT,
            "bymonthday": TEXT,
            "byyearday": TEXT,
            "description": TEXT,
            "opens_at": TIME,
            "closes_at": TIME,
            "schedule_link": TEXT,
            "attending_type": TEXT,
            "notes": TEXT,
        },
        references={
            "service_id": "service",
            "location_id": "location",
            "service_at_location_id": "service_at_location",
        },
        owners=("service_id", "location_id", "service_at_location_id"),
    ),
    _t(
        "attribute",
        {
            "link_id": UUID,
            "taxonomy_term_id": UUID,
            "link_type": TEXT,
            "link_entity": TEXT,
            "value": TEXT,
            "label": TEXT,
        },
        required=("link_id", "taxonomy_term_id", "link_entity"),
        references={"taxonomy_term_id": "taxonomy_term"},
    ),
    _t(
        "language",
        {"service_id": UUID, "location_id": UUID, "phone_id": UUID, "name": TEXT, "code": TEXT, "note": TEXT},
        references={"service_id": "service", "location_id": "location", "phone_id": "phone"},
        owners=("service_id", "location_id", "phone_id"),
    ),
    _t(
        "accessibility",
        {"location_id": UUID, "description": TEXT, "details": TEXT, "url": TEXT},
        references={"location_id": "location"},
        owners=("location_id",),
    ),
    _t(
        "service_area",
        {
            "service_id": UUID,
            "service_at_location_id": UUID,
            "name": TEXT,
            "description": TEXT,
            "extent": TEXT,
            "extent_type": TEXT,
            "uri": TEXT,
        },
        references={"service_id": "service", "service_at_location_id": "service_at_location"},
        owners=("service_id", "service_at_location_id"),
    ),
    _t(
        "service_capacity",
        {
            "service_id": UUID,
            "unit_id": UUID,
            "available": NUM,
            "maximum": NUM,
            "description": TEXT,
            "updated": DATETIME,
        },
        required=("service_id", "unit_id", "available", "updated"),
        references={"service_id": "service", "unit_id": "unit"},
    ),
)

# Columns the writer adds to every row (see migrations/versions/0001_hsds_core.py).
PROVENANCE_COLUMNS = ("source", "source_id")
