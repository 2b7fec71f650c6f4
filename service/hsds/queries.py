"""The HSDS API's lists: which ids a request selects, in which order, and the page of them.

Each list is one ``SELECT <id> FROM ... WHERE ... ORDER BY ...`` built from bound parameters
(never formatted values): counted for the Page object, cut by LIMIT/OFFSET for a page, or
streamed whole for ndjson (service/hsds/ndjson.py)."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from service.directory import confidential
from service.hsds.postcodes import NORMAL_SQL
from spatial.geodesy import box_half_sizes_deg

_WORDS = "(websearch_to_tsquery('english', :search) || websearch_to_tsquery('french', :search))"
# A service with a confidential site: its own text is withheld, so a search matches its name only.
_SERVICE_IS_PRIVATE = (
    "EXISTS (SELECT 1 FROM service_at_location psal JOIN location pl ON pl.id = psal.location_id "
    "WHERE psal.service_id = s.id AND pl.address_private)"
)
_SEARCHED = (
    f"(CASE WHEN {_SERVICE_IS_PRIVATE} THEN {confidential.SEARCHABLE_SQL.format(service='s')} ELSE s.search_vector END)"
)
# Sites within this many metres of a confidential site's cell centre are "near" it: the same
# whole-km rounding as nearest (service/directory/nearest.py), never the exact point.
_KM_M = 1000.0


@dataclass(frozen=True)
class Listing:
    """One list: ``SELECT {key} FROM {source} WHERE {where} ORDER BY {order}``."""

    key: str
    source: str
    where: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def sql(self) -> str:
        where = " AND ".join(self.where) or "TRUE"
        return f"SELECT {self.key} FROM {self.source} WHERE {where} ORDER BY {', '.join(self.order)}"

    def count_sql(self) -> str:
        where = " AND ".join(self.where) or "TRUE"
        return f"SELECT count(*) FROM {self.source} WHERE {where}"


@dataclass(frozen=True)
class ServiceFilter:
    """The HSDS parameters that select services (and, through them, service_at_locations)."""

    search: str | None = None
    taxonomy_term_id: uuid.UUID | None = None
    taxonomy_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    modified_after: datetime | None = None


def _service_clauses(f: ServiceFilter, where: list[str], order: list[str], params: dict) -> None:
    if f.search:
        where.append(f"s.search_vector @@ {_WORDS} AND {_SEARCHED} @@ {_WORDS}")
        order.append(f"ts_rank({_SEARCHED}, {_WORDS}) DESC")
        params["search"] = f.search
    if f.taxonomy_term_id:
        where.append("EXISTS (SELECT 1 FROM attribute a WHERE a.link_id = s.id AND a.taxonomy_term_id = :term_id)")
        params["term_id"] = f.taxonomy_term_id
    if f.taxonomy_id:
        where.append(
            "EXISTS (SELECT 1 FROM attribute a JOIN taxonomy_term t ON t.id = a.taxonomy_term_id "
            "WHERE a.link_id = s.id AND t.taxonomy_id = :taxonomy_id)"
        )
        params["taxonomy_id"] = f.taxonomy_id
    if f.organization_id:
        where.append("s.organization_id = :organization_id")
        params["organization_id"] = f.organization_id
    if f.modified_after:
        # The change log holds every upsert of a service with its time: a follower polls cheaply.
        where.append("s.id IN (SELECT c.service_id FROM change_log c WHERE c.changed_at >= :modified_after)")
        params["modified_after"] = f.modified_after


def services(f: ServiceFilter) -> Listing:
    where: list[str] = []
    order: list[str] = []
    params: dict[str, Any] = {}
    _service_clauses(f, where, order, params)
    return Listing("s.id", "service s", where, [*order, "s.id"], params)


_BOX = (
    "ST_MakeEnvelope(:centre_lon - :dx_deg, :centre_lat - :dy_deg, :centre_lon + :dx_deg, :centre_lat + :dy_deg, 4326)"
)
# The locations whose point a distance is measured from lies in the box, found through the
# GiST indexes (geometry 4326, the columns' own type): a public one by its own point
# (location_geom_gist), a confidential one by its cell centre (service_site_coarse_gist, partial
# on is_private). A CASE choosing between the two columns could use neither: every site was read.
_NEAR_LOCATIONS = (
    f"l.id IN (SELECT pl.id FROM location pl WHERE pl.geom && {_BOX} AND NOT pl.address_private "
    f"UNION ALL SELECT ps.location_id FROM service_site ps WHERE ps.coarse_geom && {_BOX} AND ps.is_private)"
)


@dataclass(frozen=True)
class Place:
    """``postcode`` (normal form) and, with ``proximity_m``, the postcode's centre (lat, lon)."""

    postcode: str
    proximity_m: float | None = None
    centre: tuple[float, float] | None = None


def service_at_locations(f: ServiceFilter, place: Place | None = None) -> Listing:
    where: list[str] = []
    order: list[str] = []
    params: dict[str, Any] = {}
    _service_clauses(f, where, order, params)
    source = "service_at_location sal JOIN service s ON s.id = sal.service_id JOIN location l ON l.id = sal.location_id"
    if place is not None and place.centre is not None and place.proximity_m is not None:
        # Exact distance to a public site; to a confidential one, its cell centre's distance
        # rounded up to a whole km, as nearest ranks them (service/directory/nearest.py).
        source += (
            " LEFT JOIN service_site ss ON ss.service_id = sal.service_id AND ss.location_id = sal.location_id"
            " CROSS JOIN LATERAL (SELECT CASE WHEN l.address_private"
            f" THEN ceil(ST_Distance(ss.coarse_geom::geography, centre.g) / {_KM_M}) * {_KM_M}"
            " ELSE ST_Distance(l.geom::geography, centre.g) END AS distance_m"
            " FROM (SELECT ST_SetSRID(ST_MakePoint(:centre_lon, :centre_lat), 4326)::geography AS g) centre) d"
        )
        # A box around the circle first: the geodesic distance only for the points inside it.
        dx_deg, dy_deg = box_half_sizes_deg(place.centre[0], place.proximity_m)
        where.append(_NEAR_LOCATIONS)
        where.append("d.distance_m <= :proximity_m")
        order.insert(0, "d.distance_m")
        params.update(
            centre_lat=place.centre[0],
            centre_lon=place.centre[1],
            proximity_m=place.proximity_m,
            dx_deg=dx_deg,
            dy_deg=dy_deg,
        )
    elif place is not None:
        # The postcode's area: a public site with that postcode, or a service whose service area
        # names it (a confidential service's areas are withheld, so they never answer).
        where.append(
            f"((NOT l.address_private AND EXISTS (SELECT 1 FROM address a WHERE a.location_id = l.id "
            f"AND {NORMAL_SQL.format(address='a')} LIKE :postcode_prefix)) "
            f"OR (NOT {_SERVICE_IS_PRIVATE} AND EXISTS (SELECT 1 FROM service_area sa WHERE sa.service_id = s.id "
            "AND upper(translate(coalesce(sa.name, '') || ' ' || coalesce(sa.extent, ''), ' -', '')) "
            "LIKE :postcode_anywhere)))"
        )
        params.update(postcode_prefix=place.postcode + "%", postcode_anywhere="%" + place.postcode + "%")
    return Listing("sal.id", source, where, [*order, "sal.id"], params)


def _name_search(alias: str, search: str | None, private_sql: str | None, where: list[str], params: dict) -> None:
    if not search:
        return
    # Plain substring match, case-insensitive; a confidential organization by its name only.
    by_name = f"strpos(lower({alias}.name), lower(:search)) > 0"
    by_description = f"strpos(lower(coalesce({alias}.description, '')), lower(:search)) > 0"
    if private_sql:
        by_description = f"(NOT {private_sql} AND {by_description})"
    where.append(f"({by_name} OR {by_description})")
    params["search"] = search


_ORGANIZATION_IS_PRIVATE = (
    "(EXISTS (SELECT 1 FROM location pl WHERE pl.organization_id = o.id AND pl.address_private) "
    "OR EXISTS (SELECT 1 FROM service ps JOIN service_at_location psal ON psal.service_id = ps.id "
    "JOIN location pl ON pl.id = psal.location_id WHERE ps.organization_id = o.id AND pl.address_private))"
)


def organizations(search: str | None) -> Listing:
    where: list[str] = []
    params: dict[str, Any] = {}
    _name_search("o", search, _ORGANIZATION_IS_PRIVATE, where, params)
    return Listing("o.id", "organization o", where, ["o.id"], params)


def taxonomies(search: str | None) -> Listing:
    where: list[str] = []
    params: dict[str, Any] = {}
    _name_search("x", search, None, where, params)
    return Listing("x.id", "taxonomy x", where, ["x.id"], params)


def taxonomy_terms(
    search: str | None, taxonomy_id: uuid.UUID | None, parent_id: uuid.UUID | None, top_only: bool
) -> Listing:
    where: list[str] = []
    params: dict[str, Any] = {}
    _name_search("t", search, None, where, params)
    if taxonomy_id:
        where.append("t.taxonomy_id = :taxonomy_id")
        params["taxonomy_id"] = taxonomy_id
    if parent_id:
        where.append("t.parent_id = :parent_id")
        params["parent_id"] = parent_id
    if top_only:
        where.append("t.parent_id IS NULL")
    return Listing("t.id", "taxonomy_term t", where, ["t.id"], params)


@dataclass(frozen=True)
class Page:
    """The HSDS ``Page`` object's numbers for one page of ``ids``."""

    ids: list
    total_items: int
    page_number: int
    per_page: int

    def envelope(self, contents: list[dict]) -> dict:
        total_pages = math.ceil(self.total_items / self.per_page)
        return {
            "total_items": self.total_items,
            "total_pages": total_pages,
            "page_number": self.page_number,
            "size": len(contents),  # HSDS: "the number of entities in the current page"
            "first_page": self.page_number == 1,
            "last_page": self.page_number >= total_pages,
            "empty": not contents,
            "contents": contents,
        }


def page_of(connection: Connection, listing: Listing, page_number: int, per_page: int) -> Page:
    total = connection.execute(text(listing.count_sql()), listing.params).scalar_one()
    ids = list(
        connection.execute(
            text(f"{listing.sql()} LIMIT :limit OFFSET :offset"),
            {**listing.params, "limit": per_page, "offset": (page_number - 1) * per_page},
        ).scalars()
    )
    return Page(ids, int(total), page_number, per_page)


_LAST_CHANGED = text(
    "SELECT service_id, max(changed_at) AS changed_at FROM change_log WHERE service_id = ANY(:ids) GROUP BY service_id"
)


def minimal_services(connection: Connection, ids: list) -> list[dict]:
    """``minimal``: each service's required fields (id, name, status) and ``last_modified``,
    the time fieldnav's copy last changed (the change log, which ``modified_after`` reads)."""
    changed: dict = dict(connection.execute(_LAST_CHANGED, {"ids": ids}).all()) if ids else {}
    rows = {
        r.id: r
        for r in connection.execute(text("SELECT id, name, status FROM service WHERE id = ANY(:ids)"), {"ids": ids})
    }
    shown = []
    for service_id in ids:
        row = rows.get(service_id)
        if row is None:
            continue
        item = {"id": row.id, "name": row.name, "status": row.status}
        if changed.get(service_id) is not None:
            item["last_modified"] = changed[service_id]
        shown.append(item)
    return shown
