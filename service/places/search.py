"""The gazetteer's ranking: exact name first, then names that start with the query; when
neither finds anything, similar names (pg_trgm similarity, best first); within each, the larger place (population, or how many
directory addresses name it) first. Plain SQL with bound values; ``key`` is the normal form
(service/places/normal.py), which holds only letters, digits and spaces, so a query can go
into a LIKE pattern as it is."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import Connection, text

EXACT, PREFIX, FUZZY = 0, 1, 2
# Candidates per rank before duplicates are dropped (the same town from two lists).
OVERFETCH = 3
# The same name within this distance is one place (GeoNames and the directory both know Pembroke).
SAME_PLACE_M = 20_000
EARTH_RADIUS_M = 6_371_008.8

_COLUMNS = "kind, name, key, label, lat, lon, weight, origin"

# Exact and prefix in one statement: both walk the btree on key (text_pattern_ops).
_EXACT_AND_PREFIX = text(f"""
(SELECT {_COLUMNS}, 0 AS rank, 1.0::float8 AS score FROM place WHERE key = :q
 ORDER BY weight DESC, label LIMIT :n)
UNION ALL
(SELECT {_COLUMNS}, 1 AS rank, 0.0::float8 AS score FROM place WHERE key LIKE :prefix AND key <> :q
 ORDER BY weight DESC, key, label LIMIT :n)
""")

# Only when the first two ranks found nothing: the trigram index (GIN) finds them.
_FUZZY = text(f"""
SELECT {_COLUMNS}, 2 AS rank, similarity(key, :q)::float8 AS score FROM place
WHERE key % :q AND key NOT LIKE :prefix
ORDER BY score DESC, weight DESC, label LIMIT :n
""")


@dataclass(frozen=True)
class Place:
    kind: str
    name: str
    label: str
    lat: float
    lon: float
    source: str
    rank: int = EXACT
    weight: float = 0.0
    key: str = ""

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "kind": self.kind,
            "lat": round(self.lat, 5),
            "lon": round(self.lon, 5),
            "source": self.source,
        }


def _distance_m(a: Place, b: Place) -> float:
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _distinct(places: list[Place]) -> list[Place]:
    """Drop a place already listed under the same kind and name nearby (the first, better
    ranked or larger, is kept)."""
    kept: list[Place] = []
    for place in places:
        if not any(k.kind == place.kind and k.key == place.key and _distance_m(k, place) < SAME_PLACE_M for k in kept):
            kept.append(place)
    return kept


def _places(rows) -> list[Place]:
    return [
        Place(
            kind=r.kind,
            name=r.name,
            label=r.label,
            lat=r.lat,
            lon=r.lon,
            source=r.origin,
            rank=r.rank,
            weight=r.weight,
            key=r.key,
        )
        for r in rows
    ]


def search(connection: Connection, key: str, limit: int) -> list[Place]:
    """Up to ``limit`` places for the normal form ``key``, best first."""
    if not key:
        return []
    params = {"q": key, "prefix": key + "%", "n": limit * OVERFETCH}
    rows = connection.execute(_EXACT_AND_PREFIX, params).all()
    found = _distinct(_places(sorted(rows, key=_order)))
    if not found:
        # Similar names only when nothing matched better: a trigram search costs several
        # milliseconds where the btree answers in a fraction of one (bench/places.py).
        found = _distinct(_places(connection.execute(_FUZZY, params).all()))
    return found[:limit]


def _order(row) -> tuple:
    return (row.rank, -row.score, -row.weight, row.label)
