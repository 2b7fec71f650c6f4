"""``fieldnav areas load FILE [--replace]``: the named areas service areas are matched to.

The file is a GeoJSON FeatureCollection in WGS 84 (EPSG:4326) of named (Multi)Polygons:
property ``name`` (required), ``kind`` (optional: province, region, city, postal_prefix...;
default ``postal_prefix`` for a name like "K8A", else ``area``) and ``aliases`` (optional:
a list of other names). A feature without a name or with a shape that is not an area (read
as extents are: service/areas/extents.py) is reported by its index and left out; a file
with no good feature is refused and changes nothing.

Everything happens in one transaction under the directory lock: the boundaries are
written (a loaded boundary with the same name and kind is replaced; ``--replace`` removes
every loaded boundary first), every source's named service areas are matched again, every
site's ``serves_geom`` is recomputed, and the services whose shapes changed get an
"upsert" in the change log with one new data version (as a live change does:
service/directory/live_sites.py).

Migration 0022 loads the shipped default, service/data/default_boundaries.geojson (the
province of Ontario only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from service.areas import extents, matching, serves
from service.directory import change_log
from service.directory import lock as directory_lock

DEFAULT_FILE = "default_boundaries.geojson"
DEFAULT_LOADED_FROM = "service/data/default_boundaries.geojson (fieldnav default)"


class BoundariesRefused(Exception):
    """The file cannot be loaded at all; nothing changed."""


@dataclass(frozen=True)
class Boundary:
    name: str
    name_key: str
    kind: str
    aliases: tuple[str, ...]
    match_keys: tuple[str, ...]
    geom_ewkb: str


@dataclass
class LoadReport:
    loaded: int
    problems: list[str] = field(default_factory=list)
    services_changed: int = 0
    data_version: int | None = None
    unmatched: list[matching.Unmatched] = field(default_factory=list)

    def summary_line(self) -> str:
        version = f"data version {self.data_version}" if self.data_version is not None else "data version unchanged"
        return (
            f"loaded {self.loaded} boundaries, {len(self.problems)} features left out; "
            f"{self.services_changed} services' areas changed; {len(self.unmatched)} named areas "
            f"still unmatched; {version}"
        )


def read_features(document: object) -> tuple[list[tuple[int, dict, str]], list[str]]:
    """([(feature index, properties, geometry as GeoJSON text)], problems) of a parsed file."""
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise BoundariesRefused("expected a GeoJSON FeatureCollection")
    features = document.get("features")
    if not isinstance(features, list):
        raise BoundariesRefused("the FeatureCollection has no list of features")
    good, problems = [], []
    for index, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append(f"feature {index}: not a GeoJSON Feature")
            continue
        found = feature.get("properties")
        properties: dict = found if isinstance(found, dict) else {}
        name = properties.get("name")
        if not isinstance(name, str) or not matching.name_key(name):
            problems.append(f"feature {index}: no name (property 'name')")
            continue
        aliases = properties.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            problems.append(f"feature {index} ({name}): 'aliases' must be a list of names")
            continue
        kind = properties.get("kind")
        if kind is not None and (not isinstance(kind, str) or not kind.strip()):
            problems.append(f"feature {index} ({name}): 'kind' must be a word such as city or region")
            continue
        geometry = feature.get("geometry")
        if not isinstance(geometry, dict):
            problems.append(f"feature {index} ({name}): no geometry")
            continue
        good.append((index, properties, json.dumps(geometry)))
    return good, problems


def boundaries_of(connection: Connection, document: object) -> tuple[list[Boundary], list[str]]:
    """The good features as boundaries (their shapes read by PostGIS in one statement)."""
    features, problems = read_features(document)
    shapes = extents.parse_texts(connection, [geometry for _, _, geometry in features])
    found: dict[tuple[str, str], int] = {}
    boundaries = []
    for (index, properties, _), (geom, problem) in zip(features, shapes, strict=True):
        name = properties["name"].strip()
        if geom is None:
            problems.append(f"feature {index} ({name}): the geometry {problem}")
            continue
        key = matching.name_key(name)
        kind = (properties.get("kind") or ("postal_prefix" if matching.is_postal_prefix(key) else "area")).strip()
        if (key, kind) in found:
            problems.append(f"feature {index} ({name}): the same name and kind as feature {found[key, kind]}")
            continue
        found[key, kind] = index
        aliases = tuple(a.strip() for a in properties.get("aliases", []) if matching.name_key(a))
        keys = tuple(dict.fromkeys([key, *(matching.name_key(a) for a in aliases)]))
        boundaries.append(Boundary(name, key, kind, aliases, keys, geom))
    return boundaries, problems


_UPSERT = text("""
INSERT INTO area_boundary (name, name_key, kind, aliases, match_keys, geom, loaded_from, loaded_at)
VALUES (:name, :name_key, :kind, :aliases, :match_keys, CAST(:geom AS geometry), :loaded_from, now())
ON CONFLICT (name_key, kind) DO UPDATE SET name = excluded.name, aliases = excluded.aliases,
    match_keys = excluded.match_keys, geom = excluded.geom, loaded_from = excluded.loaded_from,
    loaded_at = excluded.loaded_at
""")


def write(connection: Connection, boundaries: list[Boundary], loaded_from: str, *, replace: bool) -> None:
    if replace:
        connection.execute(text("DELETE FROM area_boundary"))
    connection.execute(
        _UPSERT,
        [
            {
                "name": b.name,
                "name_key": b.name_key,
                "kind": b.kind,
                "aliases": list(b.aliases),
                "match_keys": list(b.match_keys),
                "geom": b.geom_ewkb,
                "loaded_from": loaded_from,
            }
            for b in boundaries
        ],
    )


def load_document(connection: Connection, document: object, loaded_from: str, *, replace: bool) -> LoadReport:
    """Load, re-match and recompute in the caller's transaction (which holds the directory lock)."""
    boundaries, problems = boundaries_of(connection, document)
    if not boundaries:
        raise BoundariesRefused(
            "no feature is a named area; nothing was loaded" + "".join(f"\n  {p}" for p in problems)
        )
    write(connection, boundaries, loaded_from, replace=replace)
    unmatched = matching.match(connection)
    changed = serves.recompute(connection)
    version = change_log.record_upserts(connection, changed) if changed else None
    return LoadReport(len(boundaries), problems, len(changed), version, unmatched)


def load(engine: Engine, path: Path, *, replace: bool = False) -> LoadReport:
    """``fieldnav areas load``: one transaction; raises BoundariesRefused (nothing changed)."""
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        raise BoundariesRefused(f"{path}: not a readable GeoJSON file ({error})") from None
    with engine.begin() as connection:
        directory_lock.hold(connection)
        return load_document(connection, document, str(path), replace=replace)


def load_default(connection: Connection) -> int:
    """The shipped default boundaries (migration 0022): written, not matched (the caller does)."""
    document = json.loads(resources.files("service.data").joinpath(DEFAULT_FILE).read_text("utf-8"))
    boundaries, problems = boundaries_of(connection, document)
    if problems or not boundaries:
        raise BoundariesRefused(f"{DEFAULT_FILE}: {'; '.join(problems) or 'no boundary'}")
    write(connection, boundaries, DEFAULT_LOADED_FROM, replace=False)
    return len(boundaries)


def listing(connection: Connection) -> list[dict]:
    """What is loaded, for ``fieldnav areas list``."""
    rows = connection.execute(
        text("""
        SELECT b.name, b.kind, b.aliases, b.loaded_from, b.loaded_at,
               round((ST_Area(b.geom::geography) / 1e6)::numeric, 1) AS area_km2, ST_NPoints(b.geom) AS points,
               (SELECT count(*) FROM service_area a WHERE a.geom_origin = 'named' AND a.geom = b.geom) AS matched
        FROM area_boundary b ORDER BY b.kind, b.name_key
    """)
    )
    return [dict(r._mapping) for r in rows]


def area_counts(connection: Connection) -> dict[str, int]:
    """Service areas by how their shape is known: extent, named, unknown."""
    rows = connection.execute(
        text("SELECT coalesce(geom_origin, 'unknown') AS origin, count(*) AS n FROM service_area GROUP BY 1")
    )
    return {r.origin: r.n for r in rows}
