"""Directory reads: nearest, search, one service, categories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response

from service.api.data_version import VersionUnknown
from service.api.dependencies import DetailCacheDep, EngineDep, ReadEngineDep, VersionTrackerDep
from service.api.errors import Problem, problem_responses
from service.api.http_cache import cached_body, cached_json, directory_cache, json_body
from service.api.nearest_endpoint import (
    AGE_BOUNDS,
    DEFAULT_LIMIT,
    DEFAULT_MAX_DISTANCE_M,
    LAT_BOUNDS,
    LIMIT_BOUNDS,
    LON_BOUNDS,
    MAX_DISTANCE_BOUNDS_M,
    NEAREST_PATH,
    NearestParams,
    answer_nearest,
)
from service.api.request_params import (
    GEOJSON,
    CategoryParam,
    GenderParam,
    PopulationParam,
    ServesParam,
    parse_categories,
    parse_gender,
    parse_populations,
    parse_serves,
    wants_geojson,
)
from service.api.schemas import CategoryList, HsdsService, IsoDateTime, NearestResponse, ServicePage
from service.auth.principal import Role
from service.capacity import grants
from service.directory import search as directory
from service.directory.results import feature_collection
from service.platform.db import read_connection

router = APIRouter(prefix="/v1", tags=["services"])

# Made "private" unless FIELDNAV_AUTH_PUBLIC_READS=true (directory_cache).
DIRECTORY_CACHE = "public, max-age=60, stale-while-revalidate=300, stale-if-error=86400"


@router.get(
    NEAREST_PATH.removeprefix("/v1"),
    response_model=NearestResponse,
    summary="Nearest services that fit the person",
    description=(
        "The services nearest to a point by exact geodesic distance, among those passing every filter. "
        "Confidential sites come with no coordinates and no address, ranked by a coarse distance "
        "(whole km to the centre of their ~250 km² area) and labelled 'call to connect'. "
        "Send `Accept: application/geo+json` for an RFC 7946 FeatureCollection."
    ),
    responses={
        200: {"content": {GEOJSON: {}}},
        304: {"description": "Not Modified"},
        **problem_responses(422, 503, types=("unknown-category",)),
    },
)
def nearest(
    request: Request,
    engine: EngineDep,
    read_engine: ReadEngineDep,
    lat: Annotated[
        float, Query(ge=LAT_BOUNDS[0], le=LAT_BOUNDS[1], description="Latitude, WGS84 degrees.", examples=[43.65107])
    ],
    lon: Annotated[
        float, Query(ge=LON_BOUNDS[0], le=LON_BOUNDS[1], description="Longitude, WGS84 degrees.", examples=[-79.347015])
    ],
    category: CategoryParam = None,
    open_now: Annotated[bool, Query(description="Only services open at the time of the request.")] = False,
    open_at: Annotated[
        IsoDateTime | None,
        Query(
            description="Only services open at this ISO 8601 time (no offset: America/Toronto).",
            examples=["2026-11-25T21:30:00-05:00"],
        ),
    ] = None,
    language: Annotated[
        list[str] | None, Query(description="ISO 639 code(s) of a language the service offers.", examples=[["fr"]])
    ] = None,
    age: Annotated[
        int | None,
        Query(
            ge=AGE_BOUNDS[0],
            le=AGE_BOUNDS[1],
            description="The person's age in years, matched against eligibility ages.",
            examples=[17],
        ),
    ] = None,
    population: PopulationParam = None,
    gender: GenderParam = None,
    serves: ServesParam = None,
    accessible: Annotated[bool, Query(description="Only sites with a wheelchair-accessible entry.")] = False,
    has_capacity: Annotated[
        bool,
        Query(
            description="Only services whose count (the first unit: beds, then "
            "cots, rooms, spaces...) shows free capacity and is not stale "
            "(older than FIELDNAV_CAPACITY_STALE_AFTER_H)."
        ),
    ] = False,
    max_distance_m: Annotated[
        int, Query(ge=MAX_DISTANCE_BOUNDS_M[0], le=MAX_DISTANCE_BOUNDS_M[1], description="Search radius in metres.")
    ] = DEFAULT_MAX_DISTANCE_M,
    limit: Annotated[
        int, Query(ge=LIMIT_BOUNDS[0], le=LIMIT_BOUNDS[1], description="How many results.")
    ] = DEFAULT_LIMIT,
) -> Response:
    params = NearestParams(
        lat=lat,
        lon=lon,
        category=category,
        open_now=open_now,
        open_at=open_at,
        language=language,
        age=age,
        population=population,
        gender=gender,
        serves=serves,
        accessible=accessible,
        has_capacity=has_capacity,
        max_distance_m=max_distance_m,
        limit=limit,
    )
    return answer_nearest(request, engine, read_engine, params)


@router.get(
    "/services",
    response_model=ServicePage,
    summary="Search services by keyword, category and area",
    description=(
        "Full-text search (English and French stemming) over names and descriptions, with category "
        "and area filters, in the HSDS `Page` envelope. With `near`, results are ordered by distance."
    ),
    responses={
        200: {"content": {GEOJSON: {}}},
        304: {"description": "Not Modified"},
        **problem_responses(422, 503, types=("unknown-category", "bbox-too-large")),
    },
)
def search(
    request: Request,
    engine: EngineDep,
    read_engine: ReadEngineDep,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Keywords, e.g. `food bank` or `hébergement`.", examples=["food bank"]),
    ] = None,
    category: CategoryParam = None,
    population: PopulationParam = None,
    gender: GenderParam = None,
    serves: ServesParam = None,
    bbox: Annotated[
        str | None, Query(description="min_lon,min_lat,max_lon,max_lat (WGS84).", examples=["-79.6,43.6,-79.2,43.8"])
    ] = None,
    near: Annotated[
        str | None, Query(description="lat,lon: order by distance from this point.", examples=["43.65107,-79.347015"])
    ] = None,
    page: Annotated[int, Query(ge=1, le=10_000, description="Page number, from 1.")] = 1,
    per_page: Annotated[int, Query(ge=1, le=100, description="Items per page.")] = 20,
) -> Response:
    near_point = directory.parse_near(near) if near else None
    search_query = directory.SearchQuery(
        text=(q or "").strip() or None,
        categories=parse_categories(category),
        populations=parse_populations(population),
        gender=parse_gender(gender),
        bbox=directory.parse_bbox(bbox) if bbox else None,
        near=near_point,
        serves=parse_serves(serves, here=near_point),
        page=page,
        per_page=per_page,
    )
    with read_connection(read_engine, engine) as connection:
        result = directory.search(connection, search_query, now=datetime.now(UTC))
    if wants_geojson(request):
        return cached_json(
            request,
            feature_collection(result["contents"], {k: v for k, v in result.items() if k != "contents"}),
            cache_control=directory_cache(DIRECTORY_CACHE),
            media_type=GEOJSON,
        )
    return cached_json(request, result, cache_control=directory_cache(DIRECTORY_CACHE))


@router.get(
    "/services/{service_id}",
    response_model=HsdsService,
    summary="One service in HSDS 3.x compiled form",
    description=(
        "The full service as HSDS 3.0 `service` (compiled: absent values left out, a schedule's `timezone` the "
        "UTC offset in hours now, `timezone_name` its IANA zone), plus HSDS 3.1 `capacities` and fieldnav's "
        "`category_groups` and `open_reports`. Confidential locations carry `address_private: true` and no "
        "coordinates or addresses."
    ),
    responses={304: {"description": "Not Modified"}, **problem_responses(404, 422, 503)},
)
def service_detail(
    request: Request,
    engine: EngineDep,
    read_engine: ReadEngineDep,
    versions: VersionTrackerDep,
    cache: DetailCacheDep,
    service_id: Annotated[
        UUID, Path(description="The service's id.", examples=["5b0e3c1e-8a4f-4b6e-9d2a-1f3c5e7a9b0d"])
    ],
) -> Response:
    try:
        version, live = versions.get()
    except VersionUnknown:
        raise Problem(
            503,
            "unavailable",
            "The directory database is not reachable right now; try again shortly.",
            detail_fr="La base de données du répertoire n’est pas joignable pour le moment ; réessayez dans un instant.",
            headers={"Retry-After": "5"},
        ) from None
    principal = getattr(request.state, "principal", None)
    if principal is not None and principal.role is Role.PROVIDER:
        # A provider sees its own services only; any other is "no such service".
        with engine.connect() as connection:
            grants.require(connection, principal, service_id)
    # Schedules carry their zone's UTC offset at the time of the request (HSDS 3.0 `timezone`):
    # the hour is part of the key, so a daylight-saving change never serves an old offset.
    at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    key = (version, service_id, at)
    body = cache.get(key)
    if body is None and not live:  # the database is down: last hour's answer beats none
        body = cache.get((version, service_id, at - timedelta(hours=1)))
    if body is None:
        if not live:
            raise Problem(
                503,
                "unavailable",
                "The directory database is not reachable right now and this service is not cached; try again shortly.",
                headers={"Retry-After": "5"},
                detail_fr="La base de données du répertoire n’est pas joignable pour le moment et ce service "
                "n’est pas en cache ; réessayez dans un instant.",
            )
        with read_connection(read_engine, engine, min_version=version) as connection:
            service = directory.compiled_service(connection, service_id, at=at)
        if service is None:
            raise Problem(
                404,
                "not-found",
                f"No service with id {service_id}.",
                detail_fr=f"Aucun service ne porte l’identifiant {service_id}.",
            )
        body = json_body(service)
        cache.put(key, body)
    return cached_body(request, body, cache_control=directory_cache(DIRECTORY_CACHE))


@router.get(
    "/categories",
    response_model=CategoryList,
    summary="Category groups with labels (en, fr) and counts",
    responses={304: {"description": "Not Modified"}, **problem_responses(503)},
)
def categories(request: Request, engine: EngineDep, read_engine: ReadEngineDep) -> Response:
    with read_connection(read_engine, engine) as connection:
        groups = directory.category_counts(connection)
    return cached_json(request, {"categories": groups}, cache_control=directory_cache(DIRECTORY_CACHE))
