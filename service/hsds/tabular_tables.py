"""The HSDS 3.0 tables of a tabular datapackage as fieldnav writes them: file names, columns
and their Table Schema types, in the order of Open Referral's schemas (schema/*.json, and
HSDS 3.1's service_capacity and unit). File names are the schemas' ``path``s,
which fieldnav's importer reads (service/importer/readers/tabular_v3.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

UUID, TEXT, NUMBER, BOOLEAN, URI, EMAIL = "uuid", "text", "number", "boolean", "uri", "email"


@dataclass(frozen=True)
class TabularTable:
    name: str  # fieldnav's (and HSDS's) table
    file: str  # the CSV's name in the package
    columns: dict[str, str]  # column -> type


def _t(name: str, file: str, columns: str, *, types: dict[str, str] | None = None) -> TabularTable:
    names = columns.split()
    given = types or {}
    typed = {c: given.get(c, UUID if c == "id" or c.endswith("_id") else TEXT) for c in names}
    return TabularTable(name, file, typed)


# Parents before children, as an importer would load them.
TABLES: tuple[TabularTable, ...] = (
    _t(
        "organization",
        "organizations.csv",
        "id name alternate_name description email website tax_status tax_id year_incorporated legal_status logo uri "
        "parent_organization_id",
        types={"email": EMAIL, "website": URI, "logo": URI, "uri": URI, "year_incorporated": NUMBER},
    ),
    _t("taxonomy", "taxonomies.csv", "id name description uri version", types={"uri": URI}),
    _t(
        "taxonomy_term",
        "taxonomy_terms.csv",
        "id code name description parent_id taxonomy language taxonomy_id term_uri",
        types={"term_uri": URI},
    ),
    _t("unit", "units.csv", "id name scheme identifier uri", types={"uri": URI}),
    _t(
        "service",
        "services.csv",
        "id organization_id program_id name alternate_name description url email status interpretation_services "
        "application_process fees_description wait_time fees accreditations eligibility_description minimum_age "
        "maximum_age assured_date assurer_email licenses alert last_modified",
        types={"url": URI, "email": EMAIL, "assurer_email": EMAIL, "minimum_age": NUMBER, "maximum_age": NUMBER},
    ),
    # address_private: fieldnav's confidential site (as in its HSDS JSON), read back by its importer.
    _t(
        "location",
        "locations.csv",
        "id location_type url organization_id name alternate_name description transportation latitude longitude "
        "external_identifier external_identifier_type address_private",
        types={"url": URI, "latitude": NUMBER, "longitude": NUMBER, "address_private": BOOLEAN},
    ),
    _t("service_at_location", "service_at_location.csv", "id service_id location_id description"),
    _t(
        "address",
        "addresses.csv",
        "id location_id attention address_1 address_2 city region state_province postal_code country address_type",
    ),
    _t(
        "phone",
        "phones.csv",
        "id location_id service_id organization_id contact_id service_at_location_id number extension type description",
        types={"extension": NUMBER},
    ),
    # timezone: the UTC offset in hours (HSDS 3.0 types it a number), the IANA name in timezone_name.
    _t(
        "schedule",
        "schedules.csv",
        "id service_id location_id service_at_location_id valid_from valid_to dtstart timezone until count wkst freq "
        "interval byday byweekno bymonthday byyearday description opens_at closes_at schedule_link attending_type "
        "notes timezone_name",
        types={"timezone": NUMBER, "count": NUMBER, "interval": NUMBER, "schedule_link": URI},
    ),
    _t("language", "languages.csv", "id service_id location_id phone_id name code note"),
    _t("accessibility", "accessibility.csv", "id location_id description details url", types={"url": URI}),
    _t("service_area", "service_areas.csv", "id service_id name description extent extent_type uri"),
    _t("attribute", "attributes.csv", "id link_id taxonomy_term_id link_type link_entity value"),
    _t(
        "service_capacity",
        "service_capacity.csv",
        "id service_id unit_id available maximum description updated",
        types={"available": NUMBER, "maximum": NUMBER},
    ),
)

# Table Schema (frictionless) field descriptors of each type.
FIELD_TYPES: dict[str, dict[str, Any]] = {
    UUID: {"type": "string", "format": "uuid"},
    TEXT: {"type": "string"},
    URI: {"type": "string", "format": "uri"},
    EMAIL: {"type": "string", "format": "email"},
    NUMBER: {"type": "number"},
    BOOLEAN: {"type": "boolean", "trueValues": ["true"], "falseValues": ["false"]},
}
