"""Where the confidential cells are, kept in each process: nearest asks whether any lies
within the public answer's reach before it runs its confidential part (issue 21).

Most answers need no confidential part: a city's public k-th is a few hundred metres away
and a cell centre rarely that near, and running the part anyway cost 0.08-0.14 ms of a
0.4 ms statement (bench/README.md). The copy is exact, never merely recent: the public
statement reads ``private_cell_state.generation`` in its own snapshot (migration 0029 moves
it in every transaction that writes private_cell), and a copy of another generation is
read again, its cells and generation in one snapshot. One centre per H3 r5 cell holding a
confidential site: 184 for the bench's 100k services, 242 for its 1M."""

from __future__ import annotations

import math
import threading
import uuid
from dataclasses import dataclass

import cachetools
from sqlalchemy import Connection, text

from spatial.geodesy import box_half_sizes_deg

GENERATION_SQL = "(SELECT generation FROM private_cell_state WHERE id = 1)"

_READ = text(f"""
SELECT {GENERATION_SQL} AS generation,
       coalesce(array_agg(ST_Y(centre)), '{{}}') AS lats_deg, coalesce(array_agg(ST_X(centre)), '{{}}') AS lons_deg
FROM private_cell
""")


# The copy's grid: centres by the whole degrees of their latitude and longitude, so that a
# box reads a handful of buckets, not every centre of its latitude band (a 200 km reach
# spans 3.6 degrees of latitude across the country).
_BUCKET_DEG = 1.0

Bucket = tuple[int, int]


def _bucket(lat: float, lon: float) -> Bucket:
    return math.floor(lat / _BUCKET_DEG), math.floor(lon / _BUCKET_DEG)


@dataclass(frozen=True)
class CellCentres:
    """The centres (lat, lon) of one generation of private_cell, by grid bucket."""

    generation: uuid.UUID
    by_bucket: dict[Bucket, tuple[tuple[float, float], ...]]

    @classmethod
    def of(cls, generation: uuid.UUID, centres: list[tuple[float, float]]) -> CellCentres:
        by_bucket: dict[Bucket, list[tuple[float, float]]] = {}
        for lat, lon in centres:
            by_bucket.setdefault(_bucket(lat, lon), []).append((lat, lon))
        return cls(generation, {bucket: tuple(points) for bucket, points in by_bucket.items()})

    def any_within(self, lat: float, lon: float, radius_m: float) -> bool:
        """Whether a centre may lie within ``radius_m`` of (lat, lon): any in the box the
        confidential part reads cells from (the same over-sized box, so never a miss; a
        centre in a corner beyond the circle only costs the part a run)."""
        dx_deg, dy_deg = box_half_sizes_deg(lat, radius_m)
        (south, west), (north, east) = _bucket(lat - dy_deg, lon - dx_deg), _bucket(lat + dy_deg, lon + dx_deg)
        if (north - south + 1) * (east - west + 1) > len(self.by_bucket):
            buckets = list(self.by_bucket.values())  # a box wider than the country: every centre
        else:
            buckets = [
                self.by_bucket.get((row, column), ())
                for row in range(south, north + 1)
                for column in range(west, east + 1)
            ]
        return any(
            abs(centre_lat - lat) <= dy_deg and abs(centre_lon - lon) <= dx_deg
            for points in buckets
            for centre_lat, centre_lon in points
        )


# Copies by generation, the least recently used dropped first: a process whose reads move
# between servers that lag one another (a replica behind its primary after an import) keeps
# both, rather than reading the cells again on every request. cachetools' LRU is not safe
# across threads by itself: _lock guards it.
_KEPT_COPIES = 4
_lock = threading.Lock()
_copies: cachetools.LRUCache = cachetools.LRUCache(maxsize=_KEPT_COPIES)


def read(connection: Connection) -> CellCentres:
    """The centres as of now (one statement, so the generation is that of the cells)."""
    row = connection.execute(_READ).one()
    return CellCentres.of(row.generation, list(zip(row.lats_deg, row.lons_deg, strict=True)))


def of_generation(connection: Connection, generation: uuid.UUID | None) -> CellCentres | None:
    """This process's copy of the cells of ``generation`` (read by the caller's statement),
    read when it has none. None when the cells have moved on since that statement (the
    caller cannot tell what it saw) or it saw no generation at all: the caller runs its
    confidential part."""
    if generation is None:
        return None
    with _lock:
        copy = _copies.get(generation)
    if copy is not None:
        return copy
    copy = read(connection)  # outside the lock: a slow read holds no other request up
    with _lock:
        _copies[copy.generation] = copy
    return copy if copy.generation == generation else None


def may_be_within(
    connection: Connection, generation: uuid.UUID | None, lat: float, lon: float, radius_m: float
) -> bool:
    """Whether a confidential cell may lie within ``radius_m`` of (lat, lon), in the
    snapshot that read ``generation``."""
    if not math.isfinite(radius_m):
        return True
    centres = of_generation(connection, generation)
    return centres is None or centres.any_within(lat, lon, radius_m)
