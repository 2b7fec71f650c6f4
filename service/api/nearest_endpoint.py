"""The nearest operation, ``GET /v1/services/nearest``, once its parameters are read: shared by
the FastAPI route (service/api/routes/services.py) and the fast path ahead of the router
(service/api/nearest_fast_path.py), so both answer alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request, Response
from sqlalchemy import Engine

from service.api.http_cache import cached_json
from service.api.request_params import (
    GEOJSON,
    in_default_timezone,
    parse_categories,
    parse_gender,
    parse_languages,
    parse_populations,
    parse_serves,
    wants_geojson,
)
from service.capacity.merge import stale_after
from service.directory.nearest import NearestQuery, find_nearest
from service.directory.results import feature_collection, nearest_result
from service.platform.db import read_connection

NEAREST_PATH = "/v1/services/nearest"
# Nearest answers depend on the clock (open now) and reveal where the asker stands.
NEAREST_CACHE = "private, max-age=15"
DEFAULT_MAX_DISTANCE_M = 200_000
DEFAULT_LIMIT = 10
# (lowest, highest) of each bounded parameter: the route declares them, the fast path reads them.
LAT_BOUNDS = (-90, 90)
LON_BOUNDS = (-180, 180)
AGE_BOUNDS = (0, 130)
MAX_DISTANCE_BOUNDS_M = (1, 500_000)
LIMIT_BOUNDS = (1, 50)


@dataclass(frozen=True)
class NearestParams:
    """The operation's query parameters as FastAPI validates them (types and bounds); the
    parsing FastAPI cannot do (codes, ``serves``) is ``answer_nearest``'s."""

    lat: float
    lon: float
    category: list[str] | None = None
    open_now: bool = False
    open_at: datetime | None = None
    language: list[str] | None = None
    age: int | None = None
    population: list[str] | None = None
    gender: str | None = None
    serves: str | None = None
    accessible: bool = False
    has_capacity: bool = False
    max_distance_m: int = DEFAULT_MAX_DISTANCE_M
    limit: int = DEFAULT_LIMIT


def answer_nearest(request: Request, engine: Engine, read_engine: Engine, params: NearestParams) -> Response:
    """Blocking (the database): the route runs it in FastAPI's thread pool, the fast path in
    Starlette's, which is the same one."""
    now = datetime.now(UTC)
    when = in_default_timezone(params.open_at) if params.open_at is not None else (now if params.open_now else None)
    query = NearestQuery(
        lat=params.lat,
        lon=params.lon,
        limit=params.limit,
        max_distance_m=params.max_distance_m,
        categories=parse_categories(params.category),
        languages=parse_languages(params.language),
        age=params.age,
        populations=parse_populations(params.population),
        gender=parse_gender(params.gender),
        serves=parse_serves(params.serves, here=(params.lat, params.lon)),
        accessible=params.accessible,
        has_capacity=params.has_capacity,
        open_at=when,
        fresh_since=now - stale_after(),
    )
    with read_connection(read_engine, engine) as connection:
        hits = find_nearest(connection, query)
    results = [
        nearest_result(hit.card, hit.distance_m, hit.bearing_deg, hit.serves_location, when or now) for hit in hits
    ]
    meta = {
        "origin": {"lat": round(params.lat, 5), "lon": round(params.lon, 5)},
        "at": (when or now).isoformat(),
        "count": len(results),
    }
    if wants_geojson(request):
        return cached_json(request, feature_collection(results, meta), cache_control=NEAREST_CACHE, media_type=GEOJSON)
    return cached_json(request, {**meta, "results": results}, cache_control=NEAREST_CACHE)
