"""The places an import derives from the directory's own addresses: street addresses,
postal codes, postal prefixes (FSA, the first three characters) and cities, each at the
centroid of the addresses that name it, weighted by how many do.

Only public sites count: an address of a confidential location (``location.address_private``,
a shelter for people fleeing violence) never becomes a place, nor pulls a centroid toward it
(service/directory/confidential.py holds the rule)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from service.places import table
from service.places.normal import FSA_LENGTH, normal

# The physical addresses of the source's public, mapped locations. Postal and virtual
# addresses may be far from the point.
_ADDRESSES = text("""
SELECT a.address_1, a.city, a.state_province, a.postal_code, ST_Y(l.geom) AS lat, ST_X(l.geom) AS lon
FROM address a JOIN location l ON l.id = a.location_id
WHERE l.source = :source AND NOT l.address_private AND l.geom IS NOT NULL
  AND coalesce(a.address_type, 'physical') NOT IN ('postal', 'virtual')
""")

_CANADIAN_POSTAL = re.compile(r"[a-z]\d[a-z] \d[a-z]\d")

PROVINCES = {
    "alberta": "AB",
    "british columbia": "BC",
    "manitoba": "MB",
    "new brunswick": "NB",
    "newfoundland and labrador": "NL",
    "nova scotia": "NS",
    "northwest territories": "NT",
    "nunavut": "NU",
    "ontario": "ON",
    "prince edward island": "PE",
    "quebec": "QC",
    "saskatchewan": "SK",
    "yukon": "YT",
}


@dataclass
class _Centre:
    """Running centroid of the addresses naming one place, and the names they used."""

    name: str
    label: str
    lat_sum: float = 0.0
    lon_sum: float = 0.0
    count: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def add(self, lat: float, lon: float) -> None:
        self.lat_sum += lat
        self.lon_sum += lon
        self.count += 1


def province(value: str | None) -> str:
    """A province's two-letter code ("Ontario", "on" -> "ON"); other text as it is."""
    if not value:
        return ""
    cleaned = value.strip()
    return PROVINCES.get(normal(cleaned), cleaned.upper() if len(cleaned) == 2 else cleaned)


def _with_province(name: str, region: str) -> str:
    return f"{name}, {region}" if region else name


def places_of(rows) -> list[table.PlaceRow]:
    """The places named by address rows (address_1, city, state_province, postal_code, lat, lon)."""
    found: dict[tuple[str, str, str], _Centre] = {}

    def centre(kind: str, key: str, scope: str, name: str, label: str) -> _Centre:
        return found.setdefault((kind, key, scope), _Centre(name=name, label=label))

    cities_of_postcode: dict[str, dict[str, int]] = defaultdict(dict)
    for address_1, city, state_province, postal_code, lat, lon in rows:
        lat, lon = float(lat), float(lon)
        region = province(state_province)
        city_name = (city or "").strip()
        city_key = normal(city_name)
        if city_key:
            centre("city", city_key, region, city_name, _with_province(city_name, region)).add(lat, lon)
        street = (address_1 or "").strip()
        street_key = normal(street)
        if street_key:
            label = f"{street}, {city_name}" if city_name else street
            centre("address", street_key, city_key, street, label).add(lat, lon)
        postal_key = normal(postal_code or "")
        if not postal_key:
            continue
        display = postal_key.upper()
        centre("postal_code", postal_key, "", display, display).add(lat, lon)
        if city_name:
            counts = cities_of_postcode[postal_key]
            counts[city_name] = counts.get(city_name, 0) + 1
        if _CANADIAN_POSTAL.fullmatch(postal_key):
            fsa = postal_key[:FSA_LENGTH]
            centre("postal_prefix", fsa, "", fsa.upper(), fsa.upper()).add(lat, lon)
    places = []
    for (kind, key, _scope), c in found.items():
        label = c.label
        if kind == "postal_code" and cities_of_postcode.get(key):
            # "K8A 1A1, Pembroke": the city most of its addresses name.
            label = f"{c.label}, {max(cities_of_postcode[key].items(), key=lambda item: (item[1], item[0]))[0]}"
        places.append(
            table.PlaceRow(
                kind=kind,
                name=c.name,
                key=key,
                label=label,
                lat=c.lat_sum / c.count,
                lon=c.lon_sum / c.count,
                weight=float(c.count),
            )
        )
    return places


def rebuild(connection: Connection, source: str) -> int:
    """Replace the places derived from ``source``'s addresses (in the import's transaction)."""
    rows = connection.execute(_ADDRESSES, {"source": source}).all()
    return table.replace(connection, table.DIRECTORY, places_of(rows), import_source=source)


def rebuild_all(connection: Connection) -> int:
    """Rebuild the places of every source that has locations (after the migration that adds them)."""
    sources = connection.execute(text("SELECT DISTINCT source FROM location")).scalars().all()
    return sum(rebuild(connection, source) for source in sources)
