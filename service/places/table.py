"""Writing rows of the ``place`` table (migrations/versions/0020_places.py), whoever made them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

# Where a place came from: the directory's own addresses, or a list fieldnav ships.
DIRECTORY = "directory"
GEONAMES = "geonames"
FIELDNAV = "fieldnav"

_INSERT = text("""
INSERT INTO place (origin, import_source, kind, name, key, label, lat, lon, weight)
SELECT :origin, :import_source, * FROM unnest(
    CAST(:kinds AS text[]), CAST(:names AS text[]), CAST(:keys AS text[]), CAST(:labels AS text[]),
    CAST(:lats AS float8[]), CAST(:lons AS float8[]), CAST(:weights AS float8[]))
""")


@dataclass(frozen=True)
class PlaceRow:
    kind: str
    name: str
    key: str
    label: str
    lat: float
    lon: float
    weight: float


def replace(connection: Connection, origin: str, rows: list[PlaceRow], import_source: str | None = None) -> int:
    """Replace the places of ``origin`` (and ``import_source``) with ``rows``, in the caller's
    transaction: one delete and one insert, so a re-run leaves the same rows."""
    connection.execute(
        text("DELETE FROM place WHERE origin = :origin AND import_source IS NOT DISTINCT FROM :import_source"),
        {"origin": origin, "import_source": import_source},
    )
    if rows:
        connection.execute(
            _INSERT,
            {
                "origin": origin,
                "import_source": import_source,
                "kinds": [r.kind for r in rows],
                "names": [r.name for r in rows],
                "keys": [r.key for r in rows],
                "labels": [r.label for r in rows],
                "lats": [round(float(r.lat), 5) for r in rows],
                "lons": [round(float(r.lon), 5) for r in rows],
                "weights": [float(r.weight) for r in rows],
            },
        )
    return len(rows)
