"""The k nearest services that fit a person, from service_site: one SQL statement for the
public sites, a second for the confidential ones only where a confidential cell is near ("a
bed tonight": one statement for both).

How it stays exact and fast (docs/design.md, "Queries that must be fast"; bench/README.md):
1. KNN on the GiST index of public sites' Web Mercator points (``merc <-> point``, migration
   0028) with every filter in the same scan, bounded by the square around ``max_distance_m``
   so a filter that matches nothing cannot walk the whole index; it fetches
   ``candidate_count`` candidates, nearest first on the map, with their cards: the walk has
   read each candidate's row already, and the card is stored in it (3.).
   The map is conformal (its scale is the same in every direction at a point), so its order
   follows the geodesic order closely: 12 candidates prove the answer for k = 10 in more
   than nine queries of ten, where the walk in degrees of migration 0027 needed 26 (distances
   in degrees stretch east-west by 1 / cos(latitude)), and a filter's walk reads that many
   fewer sites (bench/README.md).
2. Among them, the k-th nearest by geodesic (ellipsoid) distance is ``kth_m`` away: the true
   k nearest are all within ``kth_m``, so on the map within _reach_merc_m(``kth_m``); every
   site the walk did not reach is at least ``walked_map_m`` away on the map: when that
   exceeds the reach, the candidates hold the answer. Otherwise a second pass takes every
   match within ``kth_m`` from the box around it (_box_around, degrees), or for a rare test
   from its posting lists within that box, and ranks them by exact geodesic distance. Fewer
   candidates than asked for are every match within reach, and the answer. Within 0.1° of a
   pole (spatial.geodesy.web_mercator_m) and across the antimeridian the map's bound does not
   hold: fieldnav serves Canada.
3. The cards as JSON text rendered when written (``card_json``, migration 0030), sent as
   stored; the bearings and ``serves_location`` of the final k only.
Confidential sites are ranked by the distance to the centre of their H3 r5 cell (~250 km²),
rounded up to a whole km, and never expose a position; both passes go cell by cell, and
no farther than the public k-th (none farther can be in the answer): where no cell lies
within it, the part does not run (service/directory/private_cells.py, find_nearest).
"A bed tonight" (``has_capacity``) walks the sites with a free count by an index that also
holds their count times (migrations 0026 and 0028), so both parts skip stale counts inside the index:
the night after an outage, when none is fresh, the answer costs a page, not a read of every
shelter within 200 km; the confidential part walks the fresh confidential sites themselves,
nearest first, instead of cells (_confidential_free_sql).
Every result says whether its service serves the ``serves`` point, or the query point
(``serves_location``, service/areas/serves.py); ``serves`` also filters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Connection, TextClause, text

from service.areas import serves
from service.directory import filter_stats, populations, private_cells
from service.platform import numbered_sql
from service.platform.settings import import_settings
from spatial.geodesy import (
    BOX_OVERSIZE,
    MAX_BOX_LAT_DEG,
    MERCATOR_OVER_SECANT_MAX,
    METRES_PER_DEG_LON_AT_EQUATOR,
    MIN_METRES_PER_DEG_LAT,
    SPHEROID_OVER_SPHERE_MIN,
    WGS84_A_M,
    WGS84_INVERSE_FLATTENING,
    web_mercator_m,
)

# Candidates beyond the disk's expected share, in standard deviations of a count of sites
# spread at random, so that the walk can prove its answer against their uneven spread (and
# the services that share a location, at one distance): 12 for k = 10. Each candidate costs
# the walk a row and a filter's walk the rows between two matches, so fewer candidates and a
# few more second passes win: of the bench's first 803 queries with a public walk, 47 at
# 100k services and 74 at 1M needed the second pass with 12 candidates, 5 and 12 with 15, and
# find_nearest's p50 on one connection went 0.673 -> 0.615 ms at 100k, 0.785 -> 0.763 at 1M
# (alternating, same answers; bench/README.md, issue 21).
CANDIDATE_SPREAD = 0.5


def candidate_count(limit: int) -> int:
    """How many candidates the walk fetches for ``limit`` results. The walk's disk in Web
    Mercator metres must hold the k-th's reach, at most 1 / (1 - e^2) wider than its circle
    in any direction (plus the boxes' 1% margins), so it holds that many times its sites,
    give or take their spread."""
    expected = limit * (MERCATOR_OVER_SECANT_MAX * BOX_OVERSIZE) ** 2
    return math.ceil(expected + CANDIDATE_SPREAD * math.sqrt(expected))


@dataclass(frozen=True)
class NearestQuery:
    lat: float
    lon: float
    limit: int = 10
    max_distance_m: float = 200_000
    categories: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    age: float | None = None
    populations: tuple[str, ...] = ()  # population group codes: the person belongs to any of them
    gender: str | None = None  # a gender group code (populations.GENDER_CODES)
    # (lat, lon): only the sites whose service area holds it, or whose area is unknown.
    serves: tuple[float, float] | None = None
    accessible: bool = False
    has_capacity: bool = False
    fresh_since: datetime | None = None  # with has_capacity: counts reported before this are stale
    open_at: datetime | None = None  # timezone-aware; "open now" passes the request time


@dataclass(frozen=True)
class _Where:
    """The filters as three WHERE clauses over different rows (see _filters)."""

    indexed: str  # sites, the tests whose posting lists are read open to their GIN indexes
    per_row: str  # sites, every test checked row by row
    cell: str  # private_cell rows: could the cell hold a match at all


def _filters(query: NearestQuery, posting_lists: tuple[str, ...]) -> tuple[_Where, dict]:
    """The WHERE clauses of the statement's parts, and the bound values.

    Constant SQL fragments with bound values are the only way filters reach the statement.
    The category and language overlap tests can be answered by their GIN indexes: the walk
    of a rare test reads the posting lists of ``posting_lists`` (``indexed``, see
    _posting_lists), in the walk and in the second pass; the other test is checked row by
    row there too. The KNN walk of a common one and its second pass read a few sites nearest
    first or in a small box, where a per-row check is cheap and a bitmap of every site in a
    common group is not (228,000 rows for "shelter" at 1M services: 30 ms), so there
    "IS TRUE" hides the indexes from the planner (``per_row``).
    Confidential sites are read cell by cell; a cell whose sites offer none of the groups or
    languages asked for is skipped."""
    clauses, cell = ["s.status = 'active'"], ["true"]
    indexed: list[tuple[str, str]] = []  # (column, its overlap test)
    params: dict[str, Any] = {}
    if query.categories:
        indexed.append(("category_groups", "s.category_groups && CAST(:categories AS text[])"))
        cell.append("c.category_groups && CAST(:categories AS text[])")
        params["categories"] = list(query.categories)
    if query.languages:
        indexed.append(("language_codes", "s.language_codes && CAST(:languages AS text[])"))
        cell.append("c.language_codes && CAST(:languages AS text[])")
        params["languages"] = list(query.languages)
    if query.age is not None:
        # coalesce() hides the bounds from the planner's estimate, so that it is the same with
        # and without the age: knowing it, the custom plans looked cheaper than the generic
        # one and PostgreSQL planned "age 17" on every call at 1M services (9 ms).
        clauses.append("coalesce(s.minimum_age <= :age, true) AND coalesce(s.maximum_age >= :age, true)")
        params["age"] = query.age
    where_who, cell_who, params_who = populations.filter_sql(query.populations, query.gender)
    clauses.extend(where_who)
    cell.extend(cell_who)
    params.update(params_who)
    if query.serves is not None:
        # Row by row on the candidates the walk reaches: most sites state no area, so an
        # index on the shapes would not narrow the walk (a cell's sites are checked one by one).
        clauses.append(serves.filter_sql("s.serves_geom"))
    if query.accessible:
        clauses.append("s.accessible")
    if query.has_capacity:
        # A stale count is not a free bed (service/capacity/merge.py). The bound is a
        # sub-select so that the planner estimates it alike with and without its value
        # (otherwise a custom plan can look cheaper and PostgreSQL plans every call); the
        # indexes of migration 0026 still test it inside the index.
        clauses.append("s.capacity_available > 0 AND s.capacity_as_of >= (SELECT CAST(:fresh_since AS timestamptz))")
        params["fresh_since"] = query.fresh_since
    if query.open_at is not None:
        # coalesce() hides the containment from the planner's selectivity estimate (0.5% for
        # any range containment of a computed value, where about half the sites are open; the
        # planner then takes 50%). Without it, "crisis, open now" was estimated at a few dozen
        # sites in the box and planned as a full scan and sort.
        # A site has weekly minutes or dated open ranges (service/directory/hours.py), never
        # both: coalesce() stops at the weekly answer, so the weekly case costs what it did.
        # The week minute in the directory's default timezone, where nearly every site is, is
        # a sub-select, computed once: per site walked it cost three time zone conversions
        # ("open now" 0.93 -> 0.82 ms, "crisis, open now" 2.26 -> 2.12 at 1M services).
        clauses.append(
            "coalesce(s.open_week_minutes @> (CASE WHEN s.timezone = CAST(:default_timezone AS text)"
            " THEN (SELECT fieldnav_week_minute(CAST(:open_at AS timestamptz), CAST(:default_timezone AS text)))"
            " ELSE fieldnav_week_minute(:open_at, s.timezone) END),"
            " s.open_ranges @> CAST(:open_at AS timestamptz), false)"
        )
        params["open_at"] = query.open_at
        params["default_timezone"] = import_settings().default_timezone
    hidden = [f"({test}) IS TRUE" for _, test in indexed]
    where = _Where(
        indexed=" AND ".join(
            clauses + [test if column in posting_lists else f"({test}) IS TRUE" for column, test in indexed]
        ),
        per_row=" AND ".join(clauses + hidden),
        cell=" AND ".join(cell),
    )
    return where, params


# A category and language test expected to match fewer sites than this in the whole table
# reads them from the GIN posting lists; more, the KNN walk (bench/README.md).
RARE_MATCHES = 2000


def _posting_lists(connection: Connection, query: NearestQuery) -> tuple[str, ...]:
    """The columns whose posting lists the statement reads, when the category and language
    tests match so few sites that reading them beats walking the KNN index until enough
    match (a test that matches nothing nearby would walk the whole 200 km): the choice
    PostgreSQL makes when it plans with the values, made here so the statement stays
    prepared (service/directory/filter_stats.py). Empty: the walk. When the rarer test is
    rare alone, only its list is read and the other test is checked on its sites: a bitmap
    of the other's list cost more than it saved ("legal": 31,000 sites at 1M services, 6 ms,
    beside 1,100 for Cree)."""
    if not (query.categories or query.languages):
        return ()
    stats = filter_stats.element_stats(connection)
    if stats is None:
        return ()
    matches_by_column: dict[str, float] = {}
    for column, values in (("category_groups", query.categories), ("language_codes", query.languages)):
        if values:
            fraction = stats.fraction(column, values)
            if fraction is None:
                return ()
            matches_by_column[column] = stats.rows * fraction
    rarest = min(matches_by_column, key=matches_by_column.__getitem__)
    if matches_by_column[rarest] < RARE_MATCHES:
        return (rarest,)
    both = math.prod(matches_by_column.values()) / stats.rows ** (len(matches_by_column) - 1)
    return tuple(matches_by_column) if both < RARE_MATCHES else ()


@dataclass(frozen=True)
class _Counts:
    """How many results, and candidates the walk fetches for them, written into the statement
    as numbers: with $n placeholders a generic plan estimates a LIMIT at a tenth of its input,
    the custom plans knew it was 10, and at 1M services PostgreSQL kept planning ``none`` on
    every call (1.5 ms of 1.7). One statement per ``limit`` asked for: a handful in practice."""

    limit: int
    over_fetch: int


@lru_cache(maxsize=512)
def _public_statement(where: _Where, rare: bool, counts: _Counts) -> TextClause:
    """The public part, with the generation of the confidential cells it saw
    (private_cells.py) on every row, and on one row of NULLs when no site matches. A handful
    of filter combinations exist, each statement is built once (text() parses its SQL every
    time), and its plan does not depend on the values, so it stays prepared (find_nearest):
    PostgreSQL keeps a generic plan after 5 runs on a connection, and a call then costs no
    parsing or planning (1 ms of 1.5 at 100k services)."""
    return text(f"""WITH {_public_sql(where, rare, counts)}
SELECT g.generation, a.card, a.distance_m, a.bearing_deg, a.serves_location
FROM (SELECT {private_cells.GENERATION_SQL} AS generation) g
LEFT JOIN ({_PUBLIC_ANSWER}) a ON true""")


@lru_cache(maxsize=512)
def _confidential_statement(where: _Where, counts: _Counts) -> TextClause:
    """The confidential part, within ``reach_m`` (the public k-th: none farther can be in the
    answer), built and kept as _public_statement is."""
    return text(f"WITH {_confidential_sql(where, counts, _REACH)}")


@lru_cache(maxsize=512)
def _free_statement(where: _Where, rare: bool, counts: _Counts) -> TextClause:
    """ "A bed tonight": both parts in one statement, the confidential one within the public
    k-th. Its public k-th is far (a few counts are fresh at a time, none after an outage), so
    a confidential cell nearly always lies within it, and a second statement would cost a
    round trip (0.25 -> 0.33 ms at 100k services). Built and kept as _public_statement is."""
    return text(f"""WITH {_public_sql(where, rare, counts)},
-- The rule public_part applies in Python where the parts are two statements.
public_bound AS (
    SELECT CASE WHEN count(*) = {counts.limit} THEN max(distance_m) ELSE CAST(:max_distance_m AS float8) END AS reach_m
    FROM public_top
),
{_confidential_free_sql(where, counts, "(SELECT reach_m FROM public_bound)")}""")


# The point is written out in each place rather than taken from a CTE: only an ORDER BY
# against a value known at scan time lets the GiST index return rows nearest first. A
# scalar sub-select is one (PostgreSQL runs it once, before the scan, as an InitPlan).
_POINT = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"
# spatial.geodesy's constants as SQL literals (code constants, never input).
_LAT_M, _LON_M = repr(MIN_METRES_PER_DEG_LAT), repr(METRES_PER_DEG_LON_AT_EQUATOR)
_OVERSIZE, _MAX_LAT, _SPHEROID_MIN = repr(BOX_OVERSIZE), repr(MAX_BOX_LAT_DEG), repr(SPHEROID_OVER_SPHERE_MIN)
_MERC_OVER = repr(MERCATOR_OVER_SECANT_MAX)
# The point on the map and on the sphere, each built once per statement by a sub-select: in
# a generic plan an expression of $n is evaluated for every row it meets (and costed so),
# where a custom plan folds it to a constant; with the difference in cost, the generic plan
# of "age 17" looked dearer than the custom ones and PostgreSQL planned it on every call at
# 1M services (9 ms). As sub-selects both plans cost and run them alike. The map point is
# computed by the caller (spatial.geodesy.web_mercator_m): ST_Transform's planner cost
# (10,000) made every generic plan look dearer, and `none` was planned on every call.
_MERC_POINT = "(SELECT ST_SetSRID(ST_MakePoint(:merc_x, :merc_y), 3857))"
_POINT_GEOG = f"(SELECT CAST({_POINT} AS geography))"
_POINT_LONLAT = f"(SELECT {_POINT})"
_WGS84 = f"CAST('SPHEROID[\"WGS 84\",{WGS84_A_M!r},{WGS84_INVERSE_FLATTENING!r}]' AS spheroid)"


def _geodesic_m(lonlat: str) -> str:
    """The geodesic distance on WGS 84 from ``lonlat`` (an SQL lon/lat point) to the query
    point: PostGIS's own geodesic, as geography's ST_Distance computes it, to within 5 nm,
    for less than half its cost a call (1.5 against 3.6 us over 20,000 sites, without the
    geography's caches and boxes); in the whole statement the difference was within the
    noise (bench/README.md). Every distance nearest ranks by comes from here, so the walk,
    its second pass and both confidential passes compare like with like."""
    return f"ST_DistanceSpheroid({lonlat}, {_POINT_LONLAT}, {_WGS84})"


# How far the confidential part looks: the public k-th, or max_distance_m (find_nearest).
_REACH = "(SELECT CAST(:reach_m AS float8))"


def _widest_lat_deg(radius_m: str) -> str:
    """The farthest latitude from the equator a path of ``radius_m`` (an SQL expression) from
    the point can reach: a degree of latitude is at least _LAT_M metres (with the margin)."""
    return f"least({_MAX_LAT}, abs(:lat) + {radius_m} / {_LAT_M} * {_OVERSIZE})"


def _half_sizes_deg(radius_m: str) -> tuple[str, str]:
    """(dx, dy) in degrees around the point for ``radius_m`` (an SQL expression): the same
    over-sizing rule as spatial.geodesy.box_half_sizes_deg. Every site within ``radius_m``
    lies inside the ellipse of these half-axes: along any path no longer than ``radius_m``
    a degree of latitude is at least _LAT_M metres and one of longitude at least _LON_M
    times the cosine of the widest latitude the path can reach, so a site dlat, dlon
    degrees away is at least sqrt((dlat * _LAT_M)^2 + (dlon * _LON_M * cos)^2) metres away
    (a path is no shorter than the straight line in these scaled degrees)."""
    dx = f"{radius_m} / ({_LON_M} * cos(radians({_widest_lat_deg(radius_m)}))) * {_OVERSIZE}"
    return dx, f"{radius_m} / {_LAT_M} * {_OVERSIZE}"


def _box_around(radius_m: str) -> str:
    """A box holding the circle of ``radius_m`` (an SQL expression) around the point."""
    dx, dy = _half_sizes_deg(radius_m)
    return f"ST_Expand({_POINT}, {dx}, {dy})"


def _reach_merc_m(radius_m: str) -> str:
    """The Web Mercator distance within which every site within ``radius_m`` (an SQL
    expression) of the point lies: along a path no longer than ``radius_m`` the latitude
    stays within ``radius_m`` / _LAT_M degrees of the point's, where a metre is at most
    sec(latitude) * _MERC_OVER metres of the map (spatial.geodesy), and the straight line on
    the map is no longer than the path's image. With the boxes' margin."""
    return f"{radius_m} / cos(radians({_widest_lat_deg(radius_m)})) * {_MERC_OVER} * {_OVERSIZE}"


# The public part's answer: its final k with their cards, bearings and areas.
_PUBLIC_ANSWER = f"""SELECT t.card_json AS card, t.distance_m, degrees(ST_Azimuth({_POINT_GEOG}, t.geog)) AS bearing_deg,
       {serves.location_sql("t.serves_geom")} AS serves_location
FROM public_top t"""
# What the public part carries from each site it reads to its answer: the card (inline in the
# row since migration 0030, so the walk has it in hand) and what the bearing and
# serves_location need. Reading the final k again by primary key cost 40 more buffer visits a
# query: the public statement's p50 0.723 -> 0.656 ms at 100k services, 0.679 -> 0.654 at 1M
# (A/B, bench/README.md).
_CARRIED_COLUMNS = ("card_json", "geog", "serves_geom")


def _carried(alias: str | None = None) -> str:
    """The carried columns, of ``alias`` when given, for a select list."""
    return ", ".join(f"{alias}.{column}" if alias else column for column in _CARRIED_COLUMNS)


def _public_sql(where: _Where, rare: bool, counts: _Counts) -> str:
    """Public sites by exact geodesic distance, with what the answer needs of them
    (_CARRIED_COLUMNS). Each part's CTEs have their own names, so both parts fit in one
    statement.

    The walk: the category and language tests are hidden from their GIN indexes ("IS TRUE"),
    so the only plan is the KNN walk, stopped at the candidates asked for. A rare test: the
    map distance is written as a function no index orders by, so the only plan reads the
    test's matches in reach from the posting lists and sorts them. Both order by the same
    distance on the map (PostGIS's geometry ``<->`` is ST_Distance). The second pass reads
    the box around the k-th, or a rare test's posting lists within it (``in_box``)."""
    map_m = f"ST_Distance(s.merc, {_MERC_POINT})" if rare else f"s.merc <-> {_MERC_POINT}"
    max_reach_m = _reach_merc_m("CAST(:max_distance_m AS float8)")
    # The square is a sub-select (see _MERC_POINT), and for a rare test hidden from its index:
    # the test's posting lists bound the work, where a bitmap of the square around Toronto
    # held 860,000 sites at 1M services (80 ms; the estimate of a square is a guess).
    in_square = f"s.merc && (SELECT ST_Expand({_MERC_POINT}, {max_reach_m}))"
    # The second pass reads the sites in the box around the k-th: a rare test's k-th is often
    # far, and the box around Toronto held 800,000 sites at 1M services, so a rare test reads
    # its posting lists again instead (0.57 s -> a few ms for Mohawk, 789 sites).
    in_box = f"s.geom && {_box_around('p.radius_m')}"
    if rare:
        in_square, in_box = f"({in_square}) IS TRUE", f"({in_box}) IS TRUE"
    where_matches = where.indexed if rare else where.per_row
    return f"""
public_candidates AS (
    SELECT s.service_id, s.location_id, {_carried("s")},
           {_geodesic_m("s.geom")} AS distance_m,
           {map_m} AS walked_map_m
    FROM service_site s
    WHERE NOT s.is_private AND {in_square}
      AND {where_matches}
    ORDER BY {map_m}
    LIMIT {counts.over_fetch}
),
public_reach AS (
    SELECT count(*) AS found, max(walked_map_m) AS walked_map_m,
           (array_agg(distance_m ORDER BY distance_m))[{counts.limit}] AS kth_m
    FROM public_candidates
),
-- A second pass only when the walk stopped short (every candidate fetched) and cannot prove
-- that no site beyond it is nearer than the k-th candidate.
public_plan AS (
    SELECT found = {counts.over_fetch} AND walked_map_m <= {_reach_merc_m("kth_m")} AS second_pass,
           least(kth_m, CAST(:max_distance_m AS float8)) AS radius_m
    FROM public_reach
),
public_ranked AS (
    SELECT c.service_id, c.location_id, {_carried("c")}, c.distance_m
    FROM public_candidates c
    WHERE NOT (SELECT second_pass FROM public_plan) AND c.distance_m <= :max_distance_m
    UNION ALL
    SELECT s.service_id, s.location_id, {_carried("s")}, d.distance_m
    FROM public_plan p
    JOIN service_site s ON {in_box}
    CROSS JOIN LATERAL (SELECT {_geodesic_m("s.geom")} AS distance_m) d
    WHERE p.second_pass AND NOT s.is_private AND {where_matches} AND d.distance_m <= p.radius_m
),
public_top AS (
    SELECT {_carried()}, distance_m FROM public_ranked ORDER BY distance_m, service_id, location_id LIMIT {counts.limit}
)"""


def _confidential_sql(where: _Where, counts: _Counts, reach: str) -> str:
    """Confidential sites by the distance to their cell centre, whole km rounded up, ties by
    (service_id, location_id), within ``reach`` (an SQL expression: the public part's reach;
    a site rounded to exactly the public k-th may still win its tie). Every confidential
    site of a cell shares its centre, so both passes go cell by cell (private_cell,
    migration 0007), nearest first, and take at most so many matches from each, in key
    order from service_site_private_by_cell."""
    return f"""
private_candidates AS (
    SELECT c.distance_m
    FROM (SELECT c.centre, {_geodesic_m("c.centre")} AS distance_m
          FROM private_cell c
          WHERE c.centre && {_box_around(reach)} AND {where.cell}
          ORDER BY c.centre <-> {_POINT}) c
    CROSS JOIN LATERAL (
        SELECT 1 FROM service_site s
        WHERE s.is_private AND s.coarse_geom = c.centre AND {where.per_row}
        LIMIT {counts.over_fetch}
    ) x
    WHERE c.distance_m <= {reach}
    LIMIT {counts.over_fetch}
),
-- The k-th candidate (or the farthest, when there are fewer) bounds the answer. Rounding up
-- to whole km keeps the order, but ties must be broken the same way for everyone, so the
-- second pass keeps every cell within the rounded reach (no candidate: radius 0).
private_reach AS (
    SELECT least(coalesce(ceil(coalesce((array_agg(distance_m ORDER BY distance_m))[{counts.limit}],
                                        max(distance_m)) / 1000.0) * 1000.0, 0),
                 {reach}) AS radius_m
    FROM private_candidates
),
private_cells AS (
    SELECT c.centre, d.distance_m
    FROM private_reach r
    JOIN private_cell c ON c.centre && {_box_around("r.radius_m")}
    CROSS JOIN LATERAL (SELECT {_geodesic_m("c.centre")} AS distance_m) d
    WHERE {where.cell} AND d.distance_m <= r.radius_m
),
private_top AS (
    SELECT x.card, ceil(c.distance_m / 1000.0) * 1000.0 AS distance_m, NULL::float8 AS bearing_deg, x.serves_location
    FROM private_cells c
    CROSS JOIN LATERAL (
        SELECT s.card_json AS card, s.service_id, s.location_id, {serves.location_sql("s.serves_geom")} AS serves_location
        FROM service_site s
        WHERE s.is_private AND s.coarse_geom = c.centre AND {where.per_row}
        ORDER BY s.service_id, s.location_id
        LIMIT {counts.limit}
    ) x
    ORDER BY 2, x.service_id, x.location_id
    LIMIT {counts.limit}
)
SELECT card, distance_m, bearing_deg, serves_location FROM private_top
"""


def _confidential_free_sql(where: _Where, counts: _Counts, reach: str) -> str:
    """Confidential sites with a fresh free count ("a bed tonight"), ranked as
    _confidential_sql ranks them, read site by site instead of cell by cell. Only a site
    with a free count can match, and the index of those by cell centre and count time
    (migration 0026) skips every part of the tree whose counts are all older than
    ``fresh_since``: the night after an outage it reads nothing, where the cell walk probed
    every cell within 200 km (1,700 buffers at 100k services). The first pass walks the
    fresh sites nearest first (on the sphere) for k of them: the farthest of any k, rounded
    up, bounds the answer, so the second pass reads the fresh sites within that, not every
    one within ``reach`` (the public k-th; 8 ms at 100k services when every confidential
    count was fresh and no public one). The public answer is sent here too, beside the
    confidential final k, whose cards are read by key."""
    centre = "s.coarse_geom::geography"  # the expression migration 0026 indexes

    def within(radius_m: str) -> str:
        return f"{centre} && _ST_Expand({_POINT_GEOG}, {radius_m} / {_SPHEROID_MIN})"

    return f"""
private_candidates AS (
    SELECT {_geodesic_m("s.coarse_geom")} AS distance_m
    FROM service_site s
    WHERE s.is_private AND {within(reach)} AND {where.per_row}
    ORDER BY {centre} <-> {_POINT_GEOG}
    LIMIT {counts.limit}
),
-- k candidates: none beyond the farthest of them, rounded up, can be in the answer (ties
-- included); fewer: they are every match within reach.
private_reach AS (
    SELECT CASE WHEN count(*) = {counts.limit} THEN least(ceil(max(distance_m) / 1000.0) * 1000.0, {reach})
                ELSE {reach} END AS radius_m
    FROM private_candidates
),
private_top AS (
    SELECT s.id, ceil(d.distance_m / 1000.0) * 1000.0 AS distance_m
    FROM private_reach r
    JOIN service_site s ON s.is_private AND {within("r.radius_m")}
    CROSS JOIN LATERAL (SELECT {_geodesic_m("s.coarse_geom")} AS distance_m) d
    WHERE {where.per_row} AND d.distance_m <= r.radius_m
    ORDER BY 2, s.service_id, s.location_id
    LIMIT {counts.limit}
)
{_PUBLIC_ANSWER}
UNION ALL
SELECT s.card_json, t.distance_m, NULL::float8, {serves.location_sql("s.serves_geom")}
FROM private_top t JOIN service_site s ON s.id = t.id
"""


class SiteHit(NamedTuple):
    """One result (a named tuple: a frozen dataclass cost 1 us per hit to build, 10 per call)."""

    card: dict
    distance_m: float
    bearing_deg: float | None
    serves_location: str  # 'yes', 'no' or 'unknown' (service/areas/serves.py)


@dataclass(frozen=True)
class NearestStatements:
    """The statements find_nearest runs for a query, and their values. ``first`` always runs:
    the public part (generation, card, distance_m, bearing_deg, serves_location), or for "a
    bed tonight" both parts (card, distance_m, bearing_deg, serves_location), and then
    ``confidential`` is None. ``confidential`` is the cell walk, with the values and
    ``reach_m``; public_part says whether it must run."""

    first: TextClause
    confidential: TextClause | None
    params: dict[str, Any]


def nearest_statements(connection: Connection, query: NearestQuery) -> NearestStatements:
    """The statements find_nearest runs for ``query`` and their values (bench/ reads them too)."""
    posting_lists = _posting_lists(connection, query)
    where, params = _filters(query, posting_lists)
    merc_x, merc_y = web_mercator_m(query.lat, query.lon)
    params.update(
        lat=query.lat,
        lon=query.lon,
        merc_x=merc_x,
        merc_y=merc_y,
        max_distance_m=query.max_distance_m,
        **serves.point_params(query.serves or (query.lat, query.lon)),
    )
    counts = _Counts(int(query.limit), candidate_count(query.limit))
    rare = bool(posting_lists)
    if query.has_capacity:
        return NearestStatements(_free_statement(where, rare, counts), None, params)
    return NearestStatements(_public_statement(where, rare, counts), _confidential_statement(where, counts), params)


def find_nearest(connection: Connection, query: NearestQuery) -> list[SiteHit]:
    """Public sites by exact geodesic distance merged with confidential ones by coarse
    distance; at most ``query.limit``.

    The public part runs first; the confidential part only when a confidential cell may lie
    within the public k-th (or ``max_distance_m`` when fewer match): none farther can be in
    the answer, and in a town the public k-th is a few hundred metres away
    (service/directory/private_cells.py; p50 over the bench's first 1,000 queries on one
    connection 0.71 -> 0.64 ms at 100k services, 1.00 -> 0.88 ms at 1M). The confidential
    statement runs in a snapshot of its own, as a second request to the same endpoint
    would. "A bed tonight" runs both parts in one statement (_free_statement).

    The statements are prepared at their first run on a connection: psycopg prepares from the
    6th, and with a pool of connections per worker and a dozen filter combinations most
    statements never got there and were planned on every call (1 ms of 1.5). Prepared at
    once, PostgreSQL moves each to its generic plan after 5 runs. "A bed tonight"
    (has_capacity), whose matches change by the hour, is prepared too: its scans test the
    count time inside the index (migration 0026), so the same plan reads one page when no
    count is fresh and a few dozen when many are. They run with $n placeholders on a raw
    cursor (service/platform/numbered_sql.py): psycopg would parse their 3-9 KB on every call."""
    statements = nearest_statements(connection, query)
    if statements.confidential is None:
        hits = _hits(_run(connection, statements.first, statements.params), first_column=0)
    else:
        hits, reach_m = public_part(connection, query, statements)
        if reach_m is not None:
            rows = _run(connection, statements.confidential, {**statements.params, "reach_m": reach_m})
            hits.extend(_hits(rows, first_column=0))
    hits.sort(key=lambda hit: (hit.distance_m, hit.card["service_id"], hit.card["location_id"]))
    return hits[: query.limit]


def _run(connection: Connection, statement: TextClause, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every row of one of nearest's statements, prepared (find_nearest says why), in binary."""
    return numbered_sql.fetch_all(connection, numbered_sql.numbered(statement), params, prepare=True, binary=True)


def _hits(rows: list[tuple[Any, ...]], first_column: int) -> list[SiteHit]:
    """Hits of rows whose columns from ``first_column`` on are (card, distance_m (float8),
    bearing_deg (float8 or NULL), serves_location); a row of NULLs is none."""
    end = first_column + 4
    return [SiteHit._make(row[first_column:end]) for row in rows if row[first_column] is not None]


def public_part(
    connection: Connection, query: NearestQuery, statements: NearestStatements
) -> tuple[list[SiteHit], float | None]:
    """The public k nearest (``statements.first``, the public statement), and how far the
    confidential part must look: the public k-th (or ``max_distance_m`` when fewer match),
    or None when no confidential cell lies within that in the snapshot the public statement
    read."""
    rows = _run(connection, statements.first, statements.params)
    generation = rows[0][0]
    hits = _hits(rows, first_column=1)
    # The rule of _free_statement's public_bound, which keeps both parts in one statement.
    full = hits and len(hits) == query.limit
    reach_m = max(hit.distance_m for hit in hits) if full else float(query.max_distance_m)
    if private_cells.may_be_within(connection, generation, query.lat, query.lon, reach_m):
        return hits, reach_m
    return hits, None
