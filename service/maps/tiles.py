"""Vector tiles of the service directory: the SQL that renders them, the in-process tile
cache, and the data version tiles are keyed by.

One tile holds one layer (docs/design.md, "Queries that must be fast"):

- ``services`` from ``points_min_zoom`` (13) up: one point per public service location
  (a ``service_site`` row) with compact properties;
- ``clusters`` below it: public sites counted per H3 cell (the resolution follows the zoom,
  see ``spatial.tiles.cluster_resolution``), with a count per category group, drawn at the
  cell centre. A site is counted in the one tile holding its point (half-open edges), so a
  tile's counts are exactly the sum of its four children's, and no tile grows with the data.

Both layers read ``map_point`` (migration 0006): narrow rows of the public, active, located
sites, in Web Mercator, found with its GiST index through the tile envelope widened by the MVT
buffer. Confidential sites and inactive services are never in it, so never in a tile. Each
layer is one constant SQL statement with bound parameters (psycopg prepares it on the server
after a few executions).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, text

from service.capacity.merge import stale_after
from service.directory.categories import category_codes
from service.platform.byte_cache import ByteCache
from service.platform.settings import TileSettings, tile_settings
from spatial.tiles import (
    BUFFER,
    BUFFER_FRACTION,
    CLUSTER_RESOLUTIONS,
    EXTENT,
    ZOOM_LIMIT,
    check_tile,
    cluster_resolution,
)

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
SERVICES_LAYER = "services"
CLUSTERS_LAYER = "clusters"
# What a tile of each layer holds, for TileJSON's vector_layers and the API docs.
# A point's id is its MVT feature id, the site's ``site_key`` (migration 0009: UUID strings
# were most of a pack's bytes); results, details, packs and sync carry the same key.
SERVICES_FIELDS = {
    "name": "String: service name (at most 80 characters); from labels_min_zoom (14) up",
    "groups": "String: category group codes, comma-separated",
    "open_24_7": "Boolean: open every hour of the week",
    "capacity": "String: available, full or none (no capacity reported)",
    "capacity_as_of": "Number: when the count was reported, Unix seconds (absent: no count); "
    "older than TileJSON's capacity_stale_after_s: show it as unknown, not as free",
}
CLUSTERS_FIELDS_FIXED = {
    "cell": "String: H3 cell index (hex)",
    "count": "Number: public service locations in the cell and tile",
}
# Fallback bounds (west, south, east, north) when no public site is on the map yet: Ontario.
DEFAULT_BOUNDS = (-95.2, 41.6, -74.3, 57.0)
NAME_MAX_CHARS = 80

# The rows tiles are drawn from (migration 0006 says why a table of its own): one per public,
# active, located site, with what a tile shows. service/directory/sites.py runs this after writing a
# source's service_site rows (its old map points went with its old sites, ON DELETE CASCADE);
# rows go in geohash order so a tile's points sit on few pages.
MAP_POINTS_FROM_SITES_SQL = f"""
INSERT INTO map_point (site_id, service_id, location_id, site_key, geom_3857, category_groups, name, open_24_7, capacity,
                       capacity_as_of, {", ".join(f"h3_r{res}" for res in CLUSTER_RESOLUTIONS)})
SELECT s.id, s.service_id, s.location_id, s.site_key, ST_Transform(s.geom, 3857), s.category_groups,
       left(coalesce(s.card ->> 'name', ''), {NAME_MAX_CHARS}),
       coalesce(s.card -> 'week_intervals' = '[[0, 10080]]'::jsonb, false),
       CASE WHEN s.capacity_available IS NULL THEN 'none' WHEN s.capacity_available > 0 THEN 'available' ELSE 'full' END,
       s.capacity_as_of, {", ".join(f"s.h3_r{res}" for res in CLUSTER_RESOLUTIONS)}
FROM service_site s
WHERE s.source = :source AND NOT s.is_private AND s.status = 'active' AND s.geom IS NOT NULL
ORDER BY ST_GeoHash(s.geom)
"""

_ENVELOPES = f"""
WITH bounds AS (
    SELECT ST_TileEnvelope(CAST(:z AS integer), CAST(:x AS integer), CAST(:y AS integer)) AS env,
           ST_TileEnvelope(CAST(:z AS integer), CAST(:x AS integer), CAST(:y AS integer),
                           margin => {BUFFER_FRACTION!r}) AS wide
)"""

# Map points in the tile and its buffer, in the category filter (empty: all).
_VISIBLE = """
    p.geom_3857 && b.wide
    AND (cardinality(CAST(:categories AS text[])) = 0 OR p.category_groups && CAST(:categories AS text[]))"""

# The cap picks points by a cheap key first (inside the tile before the buffer, then by site
# id: an even thinning, not one corner of the tile), and only the kept rows are encoded.
POINTS_SQL = (
    _ENVELOPES
    + f"""
SELECT ST_AsMVT(t, '{SERVICES_LAYER}', {EXTENT}, 'geom', 'site_key') FROM (
    -- (ST_AsMVT leaves NULL properties out of the feature; site_key is the feature id.)
    SELECT p.site_key,
           CASE WHEN CAST(:labels AS boolean) THEN p.name END AS name,
           array_to_string(p.category_groups, ',') AS groups, p.open_24_7, p.capacity,
           CAST(floor(extract(epoch FROM p.capacity_as_of)) AS bigint) AS capacity_as_of,
           ST_AsMVTGeom(p.geom_3857, b.env, {EXTENT}, {BUFFER}, true) AS geom
    FROM bounds b
    CROSS JOIN LATERAL (
        SELECT p.* FROM map_point p
        WHERE {_VISIBLE}
        ORDER BY NOT (p.geom_3857 && b.env), p.site_id
        LIMIT :max_features
    ) p
) t
WHERE t.geom IS NOT NULL
"""
)


def _clusters_sql(resolution: int) -> str:
    # The column name comes from a fixed list of resolutions, never from the request.
    column = f"h3_r{int(resolution)}"
    return (
        _ENVELOPES
        + f""",
inside AS (
    SELECT p.{column} AS cell, p.category_groups
    FROM bounds b
    JOIN map_point p ON {_VISIBLE}
    -- Half-open, so every point is in exactly one tile at each zoom.
    WHERE p.{column} IS NOT NULL
      AND ST_X(p.geom_3857) >= ST_XMin(b.env) AND ST_X(p.geom_3857) < ST_XMax(b.env)
      AND ST_Y(p.geom_3857) > ST_YMin(b.env) AND ST_Y(p.geom_3857) <= ST_YMax(b.env)
),
per_group AS (
    SELECT cell, jsonb_object_agg(grp, n) AS counts
    FROM (SELECT i.cell, g.grp, count(*) AS n
          FROM inside i CROSS JOIN LATERAL unnest(i.category_groups) AS g(grp)
          WHERE cardinality(CAST(:categories AS text[])) = 0 OR g.grp = ANY(CAST(:categories AS text[]))
          GROUP BY i.cell, g.grp) AS c
    GROUP BY cell
),
cells AS (
    SELECT cell, count(*) AS count FROM inside GROUP BY cell
)
SELECT ST_AsMVT(t, '{CLUSTERS_LAYER}', {EXTENT}, 'geom') FROM (
    SELECT to_hex(c.cell) AS cell, c.count, coalesce(p.counts, '{{}}'::jsonb) AS counts,
           -- At the cell centre, pulled into the tile that holds the cell's points.
           ST_AsMVTGeom(ST_ClosestPoint(b.env, ST_Transform(h.centre, 3857)), b.env, {EXTENT}, {BUFFER}, true) AS geom
    FROM cells c
    JOIN h3_cell h ON h.cell = c.cell
    LEFT JOIN per_group p ON p.cell = c.cell
    CROSS JOIN bounds b
    ORDER BY c.count DESC, c.cell
    LIMIT :max_features
) t
"""
    )


CLUSTERS_SQL: dict[int, str] = {resolution: _clusters_sql(resolution) for resolution in CLUSTER_RESOLUTIONS}
# text() scans its SQL for bind names whenever one is built: build each statement once.
_POINTS_STATEMENT = text(POINTS_SQL)
_CLUSTERS_STATEMENTS = {resolution: text(sql) for resolution, sql in CLUSTERS_SQL.items()}


def render_tile(
    connection: Connection,
    z: int,
    x: int,
    y: int,
    categories: tuple[str, ...] | list[str] = (),
    *,
    settings: TileSettings | None = None,
) -> bytes | None:
    """The Mapbox Vector Tile (2.1) at z/x/y, or None when it holds no feature.

    ``categories``: category group codes (already validated); a site matches when it has any
    of them; empty means every site. Raises ``spatial.tiles.TileOutOfRange`` for an address
    that names no tile. Offline packs call this directly, one tile after another.
    """
    settings = settings or tile_settings()
    check_tile(z, x, y, ZOOM_LIMIT)
    params = {"z": z, "x": x, "y": y, "categories": sorted(set(categories)), "max_features": settings.max_features}
    if z >= settings.points_min_zoom:
        statement, params["labels"] = _POINTS_STATEMENT, z >= settings.labels_min_zoom
    else:
        statement = _CLUSTERS_STATEMENTS[cluster_resolution(z)]
    body = connection.execute(statement, params).scalar()
    return bytes(body) if body else None


def cluster_fields() -> dict[str, str]:
    return {
        **CLUSTERS_FIELDS_FIXED,
        **{code: f"Number: locations in the cell with category group {code}" for code in category_codes()},
    }


def data_bounds(connection: Connection) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the public sites on the map, rounded outwards to 4
    decimals; DEFAULT_BOUNDS when there are none."""
    row = connection.execute(
        text(
            "SELECT floor(ST_XMin(e) * 1e4) / 1e4, floor(ST_YMin(e) * 1e4) / 1e4, ceil(ST_XMax(e) * 1e4) / 1e4, ceil(ST_YMax(e) * 1e4) / 1e4 "
            "FROM (SELECT ST_Extent(geom) AS e FROM service_site WHERE NOT is_private AND status = 'active') AS x"
        )
    ).one()
    if row[0] is None:
        return DEFAULT_BOUNDS
    return tuple(float(v) for v in row)  # type: ignore[return-value]


def tilejson(tiles_url: str, data_version: int, bounds, settings: TileSettings, attribution: str) -> dict:
    """TileJSON 3.0.0 describing the tiles at ``tiles_url`` (a {z}/{x}/{y} template)."""
    layers = []
    if settings.points_min_zoom > 0:
        layers.append(
            {
                "id": CLUSTERS_LAYER,
                "description": "Public service locations counted per H3 cell, at the cell centre.",
                "minzoom": 0,
                "maxzoom": min(settings.points_min_zoom, settings.max_zoom + 1) - 1,
                "fields": cluster_fields(),
            }
        )
    if settings.points_min_zoom <= settings.max_zoom:
        layers.append(
            {
                "id": SERVICES_LAYER,
                "description": f"One point per public service location, its feature id the site_key of results, packs and "
                f"sync; name from zoom {settings.labels_min_zoom}.",
                "minzoom": settings.points_min_zoom,
                "maxzoom": settings.max_zoom,
                "fields": dict(SERVICES_FIELDS),
            }
        )
    return {
        "tilejson": "3.0.0",
        "name": "fieldnav services",
        "description": "Community services for field workers: points from zoom "
        f"{settings.points_min_zoom}, H3 clusters below. Confidential sites are never shown.",
        "version": "1.0.0",
        "attribution": attribution,
        "scheme": "xyz",
        "tiles": [tiles_url],
        "minzoom": 0,
        "maxzoom": settings.max_zoom,
        "bounds": [round(float(v), 4) for v in bounds],
        "vector_layers": layers,
        "data_version": data_version,
        # When a count stops being news (FIELDNAV_CAPACITY_STALE_AFTER_H), for capacity_as_of.
        "capacity_stale_after_s": int(stale_after().total_seconds()),
    }


# --------------------------------------------------------------------------- the tile cache


@dataclass(frozen=True)
class TileKey:
    """What a tile's bytes depend on. ``categories`` is sorted, so 'food,shelter' and
    'shelter,food' share an entry; ``data_version`` makes every import a fresh key space."""

    data_version: int
    z: int
    x: int
    y: int
    categories: tuple[str, ...] = ()

    @classmethod
    def of(cls, data_version: int, z: int, x: int, y: int, categories=()) -> TileKey:
        return cls(data_version, z, x, y, tuple(sorted(set(categories))))


@dataclass(frozen=True)
class Tile:
    """A rendered tile: ``body`` None for an empty tile (answered 204)."""

    body: bytes | None
    etag: str | None


# What an entry costs besides the tile bytes (key, ETag, objects), counted so that empty
# tiles are not free and the bound stays honest.
ENTRY_OVERHEAD_BYTES = 256


def entry_size(tile: Tile) -> int:
    return ENTRY_OVERHEAD_BYTES + (len(tile.body) if tile.body else 0)


class TileCache:
    """Rendered tiles in a ByteCache (service/platform/byte_cache.py) bounded by
    ``entry_size``, that forgets a data version once a newer one is stored.

    Entries are keyed by data version, so after an import every lookup misses until the new
    tiles are rendered; entries of older versions are dropped as soon as a newer version is
    stored. A tile larger than the whole cache is simply not kept; ``max_bytes`` 0 keeps
    nothing.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._cache: ByteCache[TileKey, Tile] = ByteCache(max_bytes, entry_size)
        self._version_lock = threading.Lock()  # a put and the drop of older versions, together
        self._newest_version: int | None = None

    def get(self, key: TileKey) -> Tile | None:
        return self._cache.get(key)

    def put(self, key: TileKey, tile: Tile) -> bool:
        """Keep a tile; False when it is not kept (larger than the cache, or of a data
        version older than one already stored: nobody will ask for it again)."""
        with self._version_lock:
            if self._newest_version is not None and key.data_version < self._newest_version:
                return False
            if self._newest_version is None or key.data_version > self._newest_version:
                self._newest_version = key.data_version
                self._cache.discard(lambda old: old.data_version < key.data_version)
            return self._cache.put(key, tile)

    @property
    def hits(self) -> int:
        return self._cache.hits

    @property
    def misses(self) -> int:
        return self._cache.misses

    @property
    def bytes_used(self) -> int:
        return self._cache.bytes_used

    def __iter__(self) -> Iterator[TileKey]:
        return iter(self._cache)

    def values(self) -> list[Tile]:
        return self._cache.values()

    def __len__(self) -> int:
        return len(self._cache)


def get_or_render(
    connect: Callable[[], Connection],
    cache: TileCache,
    key: TileKey,
    *,
    etag_for: Callable[[bytes], str],
    settings: TileSettings | None = None,
) -> Tile:
    """The tile from the cache, else rendered (on a connection from ``connect``) and cached.
    Database failures propagate: a tile not in the cache cannot be made without it."""
    tile = cache.get(key)
    if tile is not None:
        return tile
    with connect() as connection:
        body = render_tile(connection, key.z, key.x, key.y, key.categories, settings=settings)
    tile = Tile(body, etag_for(body) if body else None)
    cache.put(key, tile)
    return tile
