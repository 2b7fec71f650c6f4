"""Directory reads other than nearest: keyword search, one compiled service, categories."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from service.areas import serves
from service.directory import confidential, populations
from service.directory.categories import category_groups
from service.directory.results import service_summary
from service.hsds.compiled import compiled_services
from service.hsds.serialize import Serializer
from service.platform.problem_texts import field_problem, fr_number
from service.platform.problems import Problem
from service.platform.settings import import_settings

# A bbox larger than this is refused: it would list most of the province page by page.
MAX_BBOX_AREA_DEG2 = 100.0


@dataclass(frozen=True)
class SearchQuery:
    text: str | None = None
    categories: tuple[str, ...] = ()
    populations: tuple[str, ...] = ()  # population group codes: the person belongs to any of them
    gender: str | None = None  # a gender group code (populations.GENDER_CODES)
    bbox: tuple[float, float, float, float] | None = None
    near: tuple[float, float] | None = None  # (lat, lon)
    # (lat, lon): only the sites whose service area holds it, or whose area is unknown.
    serves: tuple[float, float] | None = None
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


def parse_point(value: str, field: str) -> tuple[float, float]:
    """The (lat, lon) of a ``lat,lon`` query value named ``field``; 422 naming it otherwise."""
    lat, lon = _numbers(value, 2, field)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise Problem(
            422,
            "validation-error",
            f"{field} must be lat,lon in degrees.",
            detail_fr=f"{field} doit être lat,lon en degrés.",
            errors=[field_problem(f"query.{field}", "point_invalid")],
        )
    return lat, lon


def parse_near(value: str) -> tuple[float, float]:
    return parse_point(value, "near")


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
    who, _, who_params = populations.filter_sql(query.populations, query.gender)
    clauses.extend(who)
    params.update(who_params)
    if query.bbox:
        clauses.append("NOT s.is_private AND s.geom && ST_MakeEnvelope(:min_lon, :min_lat, :max_lon, :max_lat, 4326)")
        params.update(zip(("min_lon", "min_lat", "max_lon", "max_lat"), query.bbox, strict=True))
    # Whether each site serves the serves= point, else the near= point; no point, no answer.
    serves_point = query.serves or query.near
    serves_location = "NULL::text"
    if serves_point is not None:
        params.update(serves.point_params(serves_point))
        serves_location = serves.location_sql("s.serves_geom")
    if query.serves is not None:
        clauses.append(serves.filter_sql("s.serves_geom"))
    distance = "NULL::float8"
    if query.near:
        params.update(near_lat=query.near[0], near_lon=query.near[1])
        point = "ST_SetSRID(ST_MakePoint(:near_lon, :near_lat), 4326)"
        # Confidential sites have no position to sort by: they go last.
        distance = f"CASE WHEN s.is_private THEN NULL ELSE ST_Distance(s.geom::geography, {point}::geography) END"
        order = ["distance_m NULLS LAST", *order]
    sql = f"""
        SELECT s.card_json AS card, {rank} AS rank, {distance} AS distance_m, {serves_location} AS serves_location,
               count(*) OVER () AS total
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
        summary["serves_location"] = row.serves_location
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


def compiled_service(connection: Connection, service_id: uuid.UUID, *, at: datetime) -> dict | None:
    """One service as HSDS 3.0 compiled/service.json says, as it may be shown (the HSDS API's
    own serializer: service/hsds/); schedule offsets are the zones' at ``at``."""
    services = compiled_services(
        connection, [service_id], Serializer(at=at, default_zone=import_settings().default_timezone)
    )
    return services[0] if services else None
