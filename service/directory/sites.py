"""Build ``service_site`` rows (one per service at a location) from the HSDS tables.

Run inside the import's transaction for the imported source, so the nearest query never
sees a site that disagrees with the data it came from.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import h3
import orjson
from sqlalchemy import Connection, text

from service.directory import confidential, live_sites, populations
from service.directory.categories import TermRef
from service.directory.hours import ScheduleRule, SiteHours, depends_on_date, site_hours
from service.directory.languages import language_code
from service.maps import tiles
from service.platform import db
from service.platform.phones import tel_uri
from spatial.points import point_ewkt

DEFAULT_REGION = "CA"

# How a person gets in, read from HSDS application_process text. Order matters: "walk in
# or call" is a walk-in; "call first, no walk-ins" is call-first.
_NO_WALK_IN = re.compile(r"\bno walk[- ]?ins?\b|\bnot? (a )?drop[- ]?in\b", re.I)
_WALK_IN = re.compile(r"\bwalk[- ]?ins?\b|\bdrop[- ]?in\b|\bno appointment\b|\bjust come\b", re.I)
_REFERRAL = re.compile(r"\breferr", re.I)
_CALL = re.compile(r"\bcall\b|\bphone\b|\btelephone\b|\bappointment\b|\bbook\b", re.I)

_ACCESSIBLE = re.compile(r"accessib|wheelchair|ramp|elevator|\blift\b", re.I)
_NOT_ACCESSIBLE = re.compile(r"\bnot\b|\bno\b|inaccessib|\bstairs only\b", re.I)


def access_mode(application_process: str | None) -> str:
    """ "walk_in", "call_first", "referral" or "unknown"."""
    text_ = application_process or ""
    if _WALK_IN.search(text_) and not _NO_WALK_IN.search(text_):
        return "walk_in"
    if _REFERRAL.search(text_):
        return "referral"
    if _CALL.search(text_) or _NO_WALK_IN.search(text_):
        return "call_first"
    return "unknown"


def is_accessible(descriptions: list[str]) -> bool:
    return any(_ACCESSIBLE.search(d) and not _NOT_ACCESSIBLE.search(d) for d in descriptions)


def _round5(value) -> float | None:
    return None if value is None else round(float(value), 5)


def _multirange(intervals: list[tuple[int, int]] | None) -> str | None:
    if intervals is None:
        return None
    return "{" + ",".join(f"[{start},{end})" for start, end in intervals) + "}"


def _rows(connection: Connection, query: str, params: dict) -> list[dict]:
    return [dict(row._mapping) for row in connection.execute(text(query), params)]


def _group(rows: list[dict], key: str) -> dict[uuid.UUID, list[dict]]:
    grouped: dict[uuid.UUID, list[dict]] = defaultdict(list)
    for row in rows:
        if row.get(key) is not None:
            grouped[row[key]].append(row)
    return grouped


_SITES_SQL = """
SELECT sal.id, sal.service_id, sal.location_id, s.name, s.alternate_name, s.status, s.category_groups,
       s.minimum_age, s.maximum_age, s.eligibility_description, s.application_process, s.assured_date,
       s.url, s.email, o.name AS organization_name, l.name AS location_name, l.address_private,
       -- A confidential service (service/directory/confidential.py): one of its sites is confidential.
       bool_or(l.address_private) OVER (PARTITION BY sal.service_id) AS service_private,
       l.latitude, l.longitude, l.geom IS NOT NULL AS has_geom,
       l.h3_r4, l.h3_r5, l.h3_r6, l.h3_r7, l.h3_r8, k.key AS site_key
FROM service_at_location sal
JOIN service s ON s.id = sal.service_id
JOIN location l ON l.id = sal.location_id
JOIN site_key k ON k.service_id = sal.service_id AND k.location_id = sal.location_id
LEFT JOIN organization o ON o.id = s.organization_id
WHERE s.source = :source
-- Sites near each other are written next to each other, so a nearest-first walk reads a few
-- heap pages rather than one page per site (at 1M sites the table is 2 GB, far larger
-- than shared_buffers): the same order as map_point.
ORDER BY ST_GeoHash(l.geom), sal.id
"""

# Each child table, and the owner columns it hangs on (the most specific first).
_CHILD_KEYS = {
    "phone": ("service_id", "location_id", "service_at_location_id"),
    "schedule": ("service_id", "location_id", "service_at_location_id"),
    "language": ("service_id", "location_id"),
    "accessibility": ("location_id",),
    "address": ("location_id",),
    "term": ("service_id",),
}
# {owned}: the rows of a batch of sites only (each owner column is indexed).
_CHILD_SQL = {
    "phone": "SELECT service_id, location_id, service_at_location_id, number, extension, type, description FROM phone WHERE source = :source AND ({owned}) ORDER BY id",
    "schedule": "SELECT service_id, location_id, service_at_location_id, freq, byday, opens_at, closes_at, valid_from, valid_to, timezone, dtstart, until, count, interval, bymonthday, byweekno, byyearday, wkst FROM schedule WHERE source = :source AND ({owned})",
    "language": "SELECT service_id, location_id, name, code FROM language WHERE source = :source AND ({owned}) ORDER BY name",
    "accessibility": "SELECT location_id, description, details FROM accessibility WHERE source = :source AND ({owned}) ORDER BY id",
    "address": "SELECT location_id, address_1, address_2, city, state_province, postal_code, country, address_type FROM address WHERE source = :source AND ({owned}) ORDER BY address_type <> 'physical', id",
    # The service's taxonomy terms (the population groups' AIRS target-population codes).
    "term": "SELECT service_id, code, name FROM (SELECT a.link_id AS service_id, a.source, t.code, t.name FROM attribute a JOIN taxonomy_term t ON t.id = a.taxonomy_term_id) term WHERE source = :source AND ({owned}) ORDER BY code, name",
}


def _owner_ids(sites: list[dict]) -> dict[str, list]:
    """The owner ids of these sites, one list per owner column (``id`` is the
    service_at_location's)."""
    return {
        "service_id": sorted({site["service_id"] for site in sites}, key=str),
        "location_id": sorted({site["location_id"] for site in sites}, key=str),
        "service_at_location_id": [site["id"] for site in sites],
    }


class _Children:
    """The child rows (phones, schedules...) of a batch of one source's sites, by owner."""

    def __init__(
        self,
        connection: Connection,
        source: str,
        sites: list[dict],
        names: tuple[str, ...] = tuple(_CHILD_SQL),
        *,
        live: bool = True,
    ):
        owners = _owner_ids(sites)
        params = {"source": source, **{f"{key}s": ids for key, ids in owners.items()}}
        self.by: dict[tuple[str, str], dict[uuid.UUID, list[dict]]] = {}
        for name in names:
            owned = " OR ".join(f"{key} = ANY(:{key}s)" for key in _CHILD_KEYS[name])
            rows = _rows(connection, _CHILD_SQL[name].format(owned=owned), params)
            for key in _CHILD_KEYS[name]:
                self.by[(name, key)] = _group(rows, key)
        # Counts and open reports: the same rows a live change reads (service/directory/live_sites.py).
        self.live = (
            live_sites.rows_by_service(connection, live_sites.BY_IDS, {"ids": owners["service_id"]}) if live else {}
        )

    def of(self, name: str, key: str, owner_id) -> list[dict]:
        return self.by[(name, key)].get(owner_id, [])


def _schedules_for(children: _Children, site: dict) -> list[dict]:
    # The most specific schedules win: this service at this site, then the service, then
    # the building's own hours.
    for key, owner in (
        ("service_at_location_id", site["id"]),
        ("service_id", site["service_id"]),
        ("location_id", site["location_id"]),
    ):
        found = children.of("schedule", key, owner)
        if found:
            return found
    return []


def _phones_for(children: _Children, site: dict) -> list[dict]:
    seen, phones = set(), []
    for key, owner in (
        ("service_at_location_id", site["id"]),
        ("service_id", site["service_id"]),
        ("location_id", site["location_id"]),
    ):
        for phone in children.of("phone", key, owner):
            if phone["number"] in seen:
                continue
            seen.add(phone["number"])
            phones.append(
                {
                    "number": phone["number"],
                    "extension": phone["extension"],
                    "type": phone["type"],
                    "description": phone["description"],
                    "tel": tel_uri(phone["number"], DEFAULT_REGION, extension=phone["extension"]),
                }
            )
    return phones


def _schedule_rule(row: dict) -> ScheduleRule:
    return ScheduleRule(
        row["freq"],
        row["byday"],
        row["opens_at"],
        row["closes_at"],
        row["valid_from"],
        row["valid_to"],
        dtstart=row["dtstart"],
        until=row["until"],
        count=row["count"],
        interval=row["interval"],
        bymonthday=row["bymonthday"],
        byweekno=row["byweekno"],
        byyearday=row["byyearday"],
        wkst=row["wkst"],
    )


def _tstz_multirange(open_ranges: dict | None) -> str | None:
    """The open ranges as a tstzmultirange literal (COPY text), for the SQL "open now" filter."""
    if open_ranges is None:
        return None
    parts = (
        f'["{datetime.fromtimestamp(start_min * 60, UTC).isoformat()}","{datetime.fromtimestamp(end_min * 60, UTC).isoformat()}")'
        for start_min, end_min in open_ranges["ranges"]
    )
    return "{" + ",".join(parts) + "}"


@dataclass(frozen=True)
class HoursFields:
    """A site's hours as built on one day, and what holds them (card, service_site columns)."""

    timezone: str
    hours: SiteHours
    built_on: date | None  # the day they were built on, when they depend on the date (else None)

    def card_fields(self) -> dict:
        return {
            "timezone": self.timezone,
            "week_intervals": self.hours.week_intervals,
            "open_ranges": self.hours.open_ranges,
        }

    def columns(self) -> dict:
        return {
            "timezone": self.timezone,
            "open_week_minutes": _multirange(self.hours.week_intervals),
            "open_ranges": _tstz_multirange(self.hours.open_ranges),
            "hours_built_on": self.built_on,
        }


def hours_fields(schedules: list[dict], default_timezone: str, today: date) -> HoursFields:
    """The hours of a site with these schedule rows, built on `today`: the one place imports
    and the daily roll (service/directory/hours_roll.py) compute them."""
    rules = [_schedule_rule(row) for row in schedules]
    timezone = next((row["timezone"] for row in schedules if row["timezone"]), None) or default_timezone
    built_on = today if depends_on_date(rules, today) else None
    return HoursFields(timezone, site_hours(rules, timezone, today), built_on)


def site_hours_fields(children: _Children, site: dict, default_timezone: str, today: date) -> HoursFields:
    return hours_fields(_schedules_for(children, site), default_timezone, today)


def hours_of_sites(
    connection: Connection, source: str, sites: list[dict], default_timezone: str, today: date
) -> dict[uuid.UUID, HoursFields]:
    """The hours of these sites of one source (rows with ``id``, ``service_id`` and
    ``location_id``) built on `today`, by site id: what build_site writes for them."""
    children = _Children(connection, source, sites, ("schedule",), live=False)
    return {site["id"]: site_hours_fields(children, site, default_timezone, today) for site in sites}


def build_site(site: dict, children: _Children, default_timezone: str, today: date) -> dict:
    languages = {}
    for row in children.of("language", "service_id", site["service_id"]) + children.of(
        "language", "location_id", site["location_id"]
    ):
        code = row["code"] or language_code(row["name"])
        if code and code not in languages:
            languages[code] = row["name"]
    accessibility = [
        " — ".join(part for part in (row["description"], row["details"]) if part)
        for row in children.of("accessibility", "location_id", site["location_id"])
        if row["description"] or row["details"]
    ]
    hours = site_hours_fields(children, site, default_timezone, today)
    is_private = bool(site["address_private"])
    addresses = children.of("address", "location_id", site["location_id"])
    address = (
        None
        if not addresses
        else {
            k: addresses[0][k] for k in ("address_1", "address_2", "city", "state_province", "postal_code", "country")
        }
    )
    live = live_sites.fields_of(children.live, site["service_id"])
    # Everything about the site; what may be shown of a confidential one is decided below.
    card = {
        "service_id": str(site["service_id"]),
        "location_id": str(site["location_id"]),
        "site_key": site["site_key"],
        "name": site["name"],
        "alternate_name": site["alternate_name"],
        "organization_name": site["organization_name"],
        "location_name": site["location_name"],
        "category_groups": list(site["category_groups"]),
        "confidential": is_private,
        "lon": _round5(site["longitude"]) if site["has_geom"] else None,
        "lat": _round5(site["latitude"]) if site["has_geom"] else None,
        "address": address,
        "phones": _phones_for(children, site),
        "url": site["url"],
        "email": site["email"],
        "eligibility": {
            "description": site["eligibility_description"],
            "minimum_age": None if site["minimum_age"] is None else float(site["minimum_age"]),
            "maximum_age": None if site["maximum_age"] is None else float(site["maximum_age"]),
        },
        "languages": [{"code": code, "name": name} for code, name in languages.items()],
        "accessibility": accessibility,
        **live,
        "last_verified": site["assured_date"].isoformat() if site["assured_date"] else None,
        "access": access_mode(site["application_process"]),
        **hours.card_fields(),
    }
    card = confidential.site_card(card, site_private=is_private, service_private=bool(site["service_private"]))
    # Who it is for: derived from the eligibility text and taxonomy terms only, both on the
    # confidential allow-list, so every card carries it (the filters need it on the phone too).
    groups = populations.groups_for(
        [TermRef(row["code"], row["name"]) for row in children.of("term", "service_id", site["service_id"])],
        site["eligibility_description"],
    )
    card["populations"] = groups
    card["population_restricted"] = populations.is_restricted(groups)
    coarse = None
    if is_private and site["has_geom"]:
        cell = h3.latlng_to_cell(float(site["latitude"]), float(site["longitude"]), 5)
        coarse_lat, coarse_lon = h3.cell_to_latlng(cell)
        coarse = point_ewkt(coarse_lon, coarse_lat)
    return {
        "id": site["id"],
        "service_id": site["service_id"],
        "location_id": site["location_id"],
        "site_key": site["site_key"],
        "geom": point_ewkt(float(site["longitude"]), float(site["latitude"])) if site["has_geom"] else None,
        "is_private": is_private,
        "coarse_geom": coarse,
        "status": site["status"],
        "category_groups": list(site["category_groups"]),
        "language_codes": sorted(languages),
        "population_groups": groups,
        "minimum_age": site["minimum_age"],
        "maximum_age": site["maximum_age"],
        # A confidential site's accessibility text is withheld; filtering on it would tell it.
        "accessible": False if is_private else is_accessible(accessibility),
        **live_sites.column_values(live),
        **hours.columns(),
        "card": orjson.dumps(card).decode(),
        # Confidential sites are never in tiles, so they need no cluster cells.
        **{f"h3_r{res}": None if is_private else site[f"h3_r{res}"] for res in CLUSTER_RESOLUTIONS},
    }


CLUSTER_RESOLUTIONS = (4, 5, 6, 7, 8)

SITE_COLUMNS = (
    "id",
    "service_id",
    "location_id",
    "site_key",
    "source",
    "geom",
    "is_private",
    "coarse_geom",
    "status",
    "category_groups",
    "language_codes",
    "population_groups",
    "minimum_age",
    "maximum_age",
    "accessible",
    "capacity_available",
    "capacity_as_of",
    "timezone",
    "open_week_minutes",
    "open_ranges",
    "hours_built_on",
    "card",
    *(f"h3_r{res}" for res in CLUSTER_RESOLUTIONS),
)


# Sites built and written per batch: memory stays that of one batch (and its child rows),
# whatever the size of the source.
SITE_BATCH_SIZE = 5_000


def rebuild_sites(connection: Connection, source: str, default_timezone: str, *, today: date | None = None) -> int:
    """Replace the source's service_site rows and their map points; returns how many sites
    were written. `today`: the day hours are built on (tests set it)."""
    # (The cascade from service_site would do this row by row.)
    connection.execute(
        text("DELETE FROM map_point p USING service_site s WHERE s.id = p.site_id AND s.source = :source"),
        {"source": source},
    )
    connection.execute(text("DELETE FROM service_site WHERE source = :source"), {"source": source})
    connection.execute(_ASSIGN_SITE_KEYS, {"source": source})
    built_on = today or date.today()
    written = 0
    for batch in _site_batches(connection, source):
        _write_sites(connection, source, batch, default_timezone, built_on)
        _add_cell_centres(connection, batch)
        written += len(batch)
    connection.execute(text(tiles.MAP_POINTS_FROM_SITES_SQL), {"source": source})
    refresh_private_cells(connection)
    return written


def _site_batches(connection: Connection, source: str) -> Iterator[list[dict]]:
    """The source's site rows in _SITES_SQL order, SITE_BATCH_SIZE at a time, from a
    server-side cursor: the connection runs other statements (COPY too) between fetches."""
    # (Per statement: Connection.execution_options would stream every later statement too.)
    result = connection.execute(text(_SITES_SQL), {"source": source}, execution_options={"stream_results": True})
    for partition in result.mappings().partitions(SITE_BATCH_SIZE):
        yield [dict(row) for row in partition]


def _write_sites(connection: Connection, source: str, batch: list[dict], default_timezone: str, today: date) -> None:
    """Build a batch of sites and COPY them in (read their children first: the connection can
    do nothing else during COPY)."""
    children = _Children(connection, source, batch)
    raw = db.driver_connection(connection)
    with raw.cursor() as cursor, cursor.copy(f"COPY service_site ({', '.join(SITE_COLUMNS)}) FROM STDIN") as copy:
        for site in batch:
            row = build_site(site, children, default_timezone, today)
            row["source"] = source
            copy.write_row([row[c] for c in SITE_COLUMNS])


# Keys are handed out in (service_id, location_id) order, once: a pair keeps its key across
# imports, and a key is never given to another pair (migration 0009). All of the source's
# new pairs in one statement, before the batches, so the order is the source's, not a batch's.
_ASSIGN_SITE_KEYS = text("""
INSERT INTO site_key (service_id, location_id)
SELECT sal.service_id, sal.location_id
FROM service_at_location sal
JOIN service s ON s.id = sal.service_id
JOIN location l ON l.id = sal.location_id
WHERE s.source = :source
ORDER BY 1, 2
ON CONFLICT DO NOTHING
""")


# What nearest walks confidential sites by (migration 0007): one row per coarse point, with
# the union of its confidential sites' category groups and languages, and of their population
# groups with two markers (migration 0021): "_any" when one of them restricts nobody and
# "_any_gender" when one restricts no gender, so the "who" filters skip only cells that
# cannot hold a match (service/directory/populations.py). Rewritten whole, from
# every source: a few ms per 1,000 confidential sites, and a cell that lost a group must lose
# it here too, or nearest would skip sites (a cell keeping a stale group only costs a probe).
# Imports hold the import lock, so no two rewrites race; readers keep their snapshot.
_REFRESH_PRIVATE_CELLS = (
    text("DELETE FROM private_cell"),
    text("""
INSERT INTO private_cell (centre, category_groups, language_codes, population_groups)
SELECT c.centre, coalesce(g.category_groups, '{}'), coalesce(l.language_codes, '{}'), coalesce(p.population_groups, '{}')
FROM (SELECT DISTINCT coarse_geom AS centre FROM service_site WHERE is_private AND coarse_geom IS NOT NULL) c
LEFT JOIN (SELECT s.coarse_geom, array_agg(DISTINCT g.code ORDER BY g.code) AS category_groups
           FROM service_site s CROSS JOIN LATERAL unnest(s.category_groups) AS g(code)
           WHERE s.is_private GROUP BY s.coarse_geom) g ON g.coarse_geom = c.centre
LEFT JOIN (SELECT s.coarse_geom, array_agg(DISTINCT l.code ORDER BY l.code) AS language_codes
           FROM service_site s CROSS JOIN LATERAL unnest(s.language_codes) AS l(code)
           WHERE s.is_private GROUP BY s.coarse_geom) l ON l.coarse_geom = c.centre
LEFT JOIN (SELECT s.coarse_geom, array_agg(DISTINCT p.code ORDER BY p.code) AS population_groups
           FROM service_site s
           CROSS JOIN LATERAL unnest(s.population_groups
               || CASE WHEN s.population_groups && CAST(:restricting AS text[]) THEN '{}'::text[]
                       ELSE ARRAY[CAST(:unrestricted AS text)] END
               || CASE WHEN s.population_groups && CAST(:genders AS text[]) THEN '{}'::text[]
                       ELSE ARRAY[CAST(:any_gender AS text)] END) AS p(code)
           WHERE s.is_private GROUP BY s.coarse_geom) p ON p.coarse_geom = c.centre
"""),
)


def refresh_private_cells(connection: Connection) -> None:
    """Rewrite private_cell from the confidential sites (its trigger moves the generation
    nearest's copies of it check, migration 0029)."""
    connection.execute(_REFRESH_PRIVATE_CELLS[0])
    connection.execute(_REFRESH_PRIVATE_CELLS[1], _private_cell_params())


def _private_cell_params() -> dict:
    return {
        "restricting": list(populations.restricting_codes()),
        "unrestricted": populations.CELL_UNRESTRICTED,
        "genders": list(populations.GENDER_CODES),
        "any_gender": populations.CELL_ANY_GENDER,
    }


def _add_cell_centres(connection: Connection, site_rows: list[dict]) -> None:
    """Record the centre of every cluster cell the sites use (kept across imports: a cell's
    centre never changes)."""
    cells = {
        site[f"h3_r{res}"]
        for site in site_rows
        if not site["address_private"]
        for res in CLUSTER_RESOLUTIONS
        if site[f"h3_r{res}"] is not None
    }
    if not cells:
        return
    known = set(
        connection.execute(text("SELECT cell FROM h3_cell WHERE cell = ANY(:cells)"), {"cells": list(cells)}).scalars()
    )
    missing = cells - known
    if not missing:
        return
    raw = db.driver_connection(connection)
    with raw.cursor() as cursor, cursor.copy("COPY h3_cell (cell, resolution, centre) FROM STDIN") as copy:
        for cell in missing:
            address = h3.int_to_str(cell)
            lat, lon = h3.cell_to_latlng(address)
            copy.write_row([cell, h3.get_resolution(address), point_ewkt(lon, lat)])


def all_sources(connection: Connection) -> list[str]:
    return list(connection.execute(text("SELECT DISTINCT source FROM service")).scalars())
