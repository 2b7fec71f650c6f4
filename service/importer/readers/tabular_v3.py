"""HSDS 3.x tabular datapackages: one CSV per table, columns named as in the schema."""

from __future__ import annotations

from service.importer.readers.package_files import PackageFiles
from service.importer.records import Origin, SourceData

# File name -> table. HSDS 3.0 names first; the other spellings appear in real exports.
FILES_TO_TABLES = {
    "organizations.csv": "organization",
    "services.csv": "service",
    "locations.csv": "location",
    "service_at_locations.csv": "service_at_location",
    "service_at_location.csv": "service_at_location",
    "addresses.csv": "address",
    "phones.csv": "phone",
    "schedules.csv": "schedule",
    "taxonomies.csv": "taxonomy",
    "taxonomy_terms.csv": "taxonomy_term",
    "attributes.csv": "attribute",
    "languages.csv": "language",
    "accessibility.csv": "accessibility",
    "service_areas.csv": "service_area",
    "service_capacities.csv": "service_capacity",
    "service_capacity.csv": "service_capacity",
    "units.csv": "unit",
}


def read(files: PackageFiles) -> SourceData:
    data = SourceData(format="hsds-3-tabular")
    for name in files.names():
        table = FILES_TO_TABLES.get(name)
        if table is None:
            if name.endswith(".csv"):
                data.ignored_files.append(name)
            continue
        for row_number, row in files.csv_rows(name):
            data.add(table, row, Origin(name, row_number))
    return data
