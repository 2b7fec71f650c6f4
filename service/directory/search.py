"""Directory reads other than nearest: keyword search, one compiled service, categories."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from service.capacity.hsds import hsds_capacities
from service.directory import confidential, live_sites
from service.directory.categories import category_groups
from service.directory.results import service_summary
from service.platform.problem_texts import field_problem, fr_number
from service.platform.problems import Problem

# A bbox larger than this is refused: it would list most of the province page by page.
MAX_BBOX_AREA_DEG2 = 100.0


@dataclass(frozen=True)
class SearchQuery:
    text: str | None = None
    categories: tuple[str, ...] = ()
    bbox: tuple[float, float, float, float] | None = None
    near: tuple[float, float] | None = None  # (lat, lon)
    page: int = 1
    per_page: int = 20


def _numbers(value: str, count: int, field: str) -> list[float]:
    parts = value.split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) != count or not all(math.isfinite(n) for n in numbers):
        raise Problem(
            422,
            "validation-error",
            f"{field} must be {count} comma-separated numbers.",
            detail_fr=f"{field} doit contenir {count} nombres séparés par des virgules.",
            errors=[field_problem(f"query.{field}", "numbers_expected", count=count)],
        )
    return numbers


def parse_bbox(value: str) -> tuple[float, float, float, float]:
    min_lon, min_lat, max_lon, max_lat = _numbers(value, 4, "bbox")
    if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
        raise Problem(
            422,
            "validation-error",
            "bbox must be min_lon,min_lat,max_lon,max_lat with min < max, in degrees.",
            detail_fr="bbox doit être min_lon,min_lat,max_lon,max_lat en degrés, avec min < max.",
            errors=[field_problem("query.bbox", "bbox_invalid")],
        )
    if (max_lon - min_lon) * (max_lat - min_lat) > MAX_BBOX_AREA_DEG2:
        raise Problem(
            422,
            "bbox-too-large",
            f"bbox covers more than {MAX_BBOX_AREA_DEG2:g} square degrees; zoom in or use near=.",
            title="Area too large",
            detail_fr=f"bbox couvre plus de {fr_number(MAX_BBOX_AREA_DEG2)} degrés carrés : faites un zoom avant, "
            "ou utilisez near=.",
            errors=[field_problem("query.bbox", "bbox_too_large", max_area=MAX_BBOX_AREA_DEG2)],
        )
    return min_lon, min_lat, max_lon, max_lat


def parse_near(value: str) -> tuple[float, float]:
    lat, lon = _numbers(value, 2, "near")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise Problem(
            422,
            "validation-error",
            "near must be lat,lon in degrees.",
            detail_fr="near doit être lat,lon en degrés.",
            errors=[field_problem("query.near", "point_invalid")],
        )
    return lat, lon


def _search_sql(query: SearchQuery) -> tuple[str, dict]:
    clauses, order = ["s.status = 'active'"], ["sv.name", "s.id"]
    params: dict[str, Any] = {}
    rank, joins = "NULL::real", ""
    if query.text:
        words = "(websearch_to_tsquery('english', :q) || websearch_to_tsquery('french', :q))"
        # A confidential service is found and ranked by its name only: finding it by a word of
        # text it withholds would tell that the word is there (service/directory/confidential.py).
        joins = (
            "CROSS JOIN LATERAL (SELECT CASE WHEN EXISTS (SELECT 1 FROM service_site c WHERE c.service_id = s.service_id "
            f"AND c.is_private) THEN {confidential.SEARCHABLE_SQL.format(service='sv')} "
            "ELSE sv.search_vector END AS vector) AS searched"
        )
        clauses.append(f"sv.search_vector @@ {words}")
        clauses.append(f"searched.vector @@ {words}")
        rank = f"ts_rank(searched.vector, {words})"
        order = ["rank DESC", *order]
        params["q"] = query.text
    if query.categories:
        clauses.append("s.category_groups && CAST(:categories AS text[])")
        params["categories"] = list(query.categories)
    if query.bbox:
        clauses.append("NOT s.is_private AND s.geom && ST_MakeEnvelope(:min_lon, :min_lat, :max_lon, :max_lat, 4326)")
        params.update(zip(("min_lon", "min_lat", "max_lon", "max_lat"), query.bbox, strict=True))
    distance = "NULL::float8"
    if query.near:
        params.update(near_lat=query.near[0], near_lon=query.near[1])
        point = "ST_SetSRID(ST_MakePoint(:near_lon, :near_lat), 4326)"
        # Confidential sites have no position to sort by: they go last.
        distance = f"CASE WHEN s.is_private THEN NULL ELSE ST_Distance(s.geom::geography, {point}::geography) END"
        order = ["distance_m NULLS LAST", *order]
    sql = f"""
        SELECT s.card, {rank} AS rank, {distance} AS distance_m, count(*) OVER () AS total
        FROM service_site s JOIN service sv ON sv.id = s.service_id {joins}
        WHERE {" AND ".join(clauses)}
        ORDER BY {", ".join(order)}
        LIMIT :limit OFFSET :offset
    """
    params.update(limit=query.per_page, offset=(query.page - 1) * query.per_page)
    return sql, params


def _count_sql(query: SearchQuery) -> str:
    sql, _ = _search_sql(query)
    inner = sql.split("FROM", 1)[1].split("ORDER BY", 1)[0]
    return f"SELECT count(*) FROM{inner}"


def search(connection: Connection, query: SearchQuery, *, now: datetime) -> dict:
    """An HSDS ``Page`` of service summaries (one per service at a site)."""
    sql, params = _search_sql(query)
    rows = connection.execute(text(sql), params).all()
    if rows:
        total = int(rows[0].total)
    else:  # past the last page the window count is lost; count on its own
        total = connection.execute(text(_count_sql(query)), params).scalar_one() if query.page > 1 else 0
    contents = []
    for row in rows:
        summary = service_summary(row.card, now)
        if row.distance_m is not None:
            summary["distance_m"] = round(row.distance_m)
        contents.append(summary)
    total_pages = max(1, math.ceil(total / query.per_page)) if total else 0
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": query.page,
        "size": query.per_page,
        "first_page": query.page == 1,
        "last_page": query.page >= total_pages,
        "empty": not contents,
        "contents": contents,
    }


def category_counts(connection: Connection) -> list[dict]:
    counts: dict[str, int] = dict(
        connection.execute(
            text("SELECT g, count(*) FROM service, unnest(category_groups) AS g WHERE status = 'active' GROUP BY g")
        ).all()
    )
    return [
        {"code": g.code, "label_en": g.label_en, "label_fr": g.label_fr, "service_count": counts.get(g.code, 0)}
        for g in category_groups()
    ]


# --- one service in HSDS compiled form ----------------------------------------------------

_HIDDEN_COLUMNS = {"source", "source_id", "content_hash", "search_vector", "geom", "category_groups"} | {
    f"h3_r{r}" for r in range(4, 10)
}


def _clean(row) -> dict:
    values = {}
    for key, value in dict(row._mapping).items():
        if key in _HIDDEN_COLUMNS:
            continue
        if isinstance(value, Decimal):
            value = int(value) if value == value.to_integral_value() else float(value)
        values[key] = value
    return values


def _fetch(connection: Connection, table: str, column: str, ids: list) -> list[dict]:
    if not ids:
        return []
    rows = connection.execute(text(f'SELECT * FROM "{table}" WHERE {column} = ANY(:ids) ORDER BY id'), {"ids": ids})
    return [_clean(row) for row in rows]


def _by(rows: list[dict], key: str) -> dict:
    grouped: dict = {}
    for row in rows:
        grouped.setdefault(row.get(key), []).append(row)
    return grouped


def compiled_service(connection: Connection, service_id: uuid.UUID) -> dict | None:
    row = connection.execute(text("SELECT * FROM service WHERE id = :id"), {"id": service_id}).first()
    if row is None:
        return None
    category = list(row.category_groups)
    service = _clean(row)
    organization = (
        _fetch(connection, "organization", "id", [service["organization_id"]]) if service.get("organization_id") else []
    )
    service["organization"] = organization[0] if organization else None
    ids = [service_id]
    service["phones"] = _fetch(connection, "phone", "service_id", ids)
    service["schedules"] = _fetch(connection, "schedule", "service_id", ids)
    service["service_areas"] = _fetch(connection, "service_area", "service_id", ids)
    service["languages"] = _fetch(connection, "language", "service_id", ids)
    attributes = _fetch(connection, "attribute", "link_id", ids)
    terms = {t["id"]: t for t in _fetch(connection, "taxonomy_term", "id", [a["taxonomy_term_id"] for a in attributes])}
    for attribute in attributes:
        attribute["taxonomy_term"] = terms.get(attribute["taxonomy_term_id"])
    service["attributes"] = attributes
    capacities = _fetch(connection, "service_capacity", "service_id", ids)
    units = {u["id"]: u for u in _fetch(connection, "unit", "id", [c["unit_id"] for c in capacities])}
    for capacity in capacities:
        capacity["unit"] = units.get(capacity["unit_id"])
    live = [
        dict(r._mapping)
        for r in connection.execute(
            text("SELECT unit, available, maximum, updated FROM capacity_live WHERE service_id = :id"),
            {"id": service_id},
        )
    ]
    service["capacities"] = hsds_capacities(service_id, capacities, live)

    sals = _fetch(connection, "service_at_location", "service_id", ids)
    location_ids = [s["location_id"] for s in sals]
    locations = {loc["id"]: loc for loc in _fetch(connection, "location", "id", location_ids)}
    addresses = _by(_fetch(connection, "address", "location_id", location_ids), "location_id")
    accessibility = _by(_fetch(connection, "accessibility", "location_id", location_ids), "location_id")
    location_phones = _by(_fetch(connection, "phone", "location_id", location_ids), "location_id")
    location_languages = _by(_fetch(connection, "language", "location_id", location_ids), "location_id")
    location_schedules = _by(_fetch(connection, "schedule", "location_id", location_ids), "location_id")
    sal_ids = [s["id"] for s in sals]
    sal_phones = _by(_fetch(connection, "phone", "service_at_location_id", sal_ids), "service_at_location_id")
    sal_schedules = _by(_fetch(connection, "schedule", "service_at_location_id", sal_ids), "service_at_location_id")
    for sal in sals:
        location = dict(locations[sal["location_id"]])
        location.update(
            addresses=addresses.get(location["id"], []),
            accessibility=accessibility.get(location["id"], []),
            phones=location_phones.get(location["id"], []),
            languages=location_languages.get(location["id"], []),
            schedules=location_schedules.get(location["id"], []),
        )
        sal.update(location=location, phones=sal_phones.get(sal["id"], []), schedules=sal_schedules.get(sal["id"], []))
    service["service_at_locations"] = sals
    service["category_groups"] = category
    # fieldnav's own, as on result cards: unresolved field reports, so the detail warns too.
    service["open_reports"] = live_sites.open_reports_of(connection, service_id)
    # Of a service with a confidential location, only what service/directory/confidential.py allows.
    return confidential.compiled_service(service)
