"""Vector tiles for the map: ``GET /v1/tiles/{z}/{x}/{y}.mvt`` and ``GET /v1/tiles.json``.

Rendering, the tile cache and the version bookkeeping live in service/maps/tiles.py; this module
parses, picks the cache policy and shapes responses. The cache and the version memory are
per worker process, on ``app.state``, created on first use. Plain tile requests reach
``answer_tile`` through service/api/tile_fast_path.py, ahead of FastAPI's router; the FastAPI
operation below is the documented one and takes the rest.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from service.maps import tiles
from service.api.data_version import LastKnownVersion, VersionUnknown
from service.api.dependencies import EngineDep, VersionTrackerDep, get_engine, get_read_engine, get_version_tracker
from service.platform.db import read_connection
from service.api.errors import Problem, problem_responses
from service.platform.problem_texts import no_such_tile_fr
from service.api.http_cache import cached_json, directory_cache, etag_for, if_none_match
from service.api.routes.services import CategoryParam, _categories
from service.platform.settings import tile_settings
from spatial.tiles import TileOutOfRange, check_tile

MVT = tiles.MVT_MEDIA_TYPE
# A versioned URL (v = the current data version) names bytes that never change. "public"
# only when anyone may read tiles: immutable_cache_control() and short_cache_control() say
# "private" when a token is needed (http_cache.directory_cache).
IMMUTABLE = "public, max-age=31536000, immutable"
STALE_WHILE_REVALIDATE_S = 300
STALE_IF_ERROR_S = 86_400
ATTRIBUTION = "Community services data: 211 and partner agencies (Open Referral HSDS)"


def immutable_cache_control() -> str:
    """The current versioned URL: kept for good (by the caller only, when a token is needed)."""
    return directory_cache(IMMUTABLE)


def short_cache_control() -> str:
    """Unversioned or stale-version URLs: a short max-age, then revalidate with the ETag;
    meanwhile (and while we are down) a cache may serve the old tile."""
    return directory_cache(f"public, max-age={tile_settings().max_age_s}, stale-while-revalidate={STALE_WHILE_REVALIDATE_S}, "
                           f"stale-if-error={STALE_IF_ERROR_S}")


def _handler_for(request: Request, error: Exception):
    handlers = request.app.exception_handlers
    for cls in type(error).__mro__:
        if cls in handlers:
            return handlers[cls]
    return None


async def no_store_problem(request: Request, error: Exception) -> Response:
    """The problem document for a failure of a tile route, marked ``Cache-Control: no-store``:
    a 404 or 503 must never stick in a phone's or a CDN's cache in place of a tile. Errors are
    turned into problem documents by the app's own handlers (service/api/errors.py), as
    everywhere. Re-raises what no handler takes."""
    to_problem = _handler_for(request, error)
    if to_problem is None:
        raise error
    response = await to_problem(request, error)
    response.headers["Cache-Control"] = "no-store"
    return response


class NoStoreErrorsRoute(APIRoute):
    """Tile routes answer every failure with ``no_store_problem``."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as error:
                return await no_store_problem(request, error)

        return route_handler


router = APIRouter(prefix="/v1", tags=["tiles"], route_class=NoStoreErrorsRoute)

_STATE_LOCK = threading.Lock()


@dataclass(frozen=True)
class TileContext:
    """What a tile request needs from the app, resolved as one dependency: FastAPI solves each
    dependency of each request anew, and for a cached tile solving four took longer than the
    endpoint itself (py-spy, bench/README.md)."""

    engine: Engine
    read_engine: Engine
    cache: tiles.TileCache  # this worker's, bounded by FIELDNAV_TILES_CACHE_BYTES
    known_version: LastKnownVersion


async def get_tile_context(request: Request) -> TileContext:
    """This worker's tile context, made on first use (every part lives as long as the app)."""
    state = request.app.state
    context = getattr(state, "tile_context", None)
    if context is None:
        engine, read_engine = await get_engine(request), await get_read_engine(request)
        known_version = await get_version_tracker(request)
        with _STATE_LOCK:
            context = getattr(state, "tile_context", None)
            if context is None:
                context = state.tile_context = TileContext(
                    engine, read_engine, tiles.TileCache(tile_settings().cache_bytes), known_version)
    return context


TileContextDep = Annotated[TileContext, Depends(get_tile_context)]

_UNAVAILABLE = "The directory database is not reachable right now and this tile is not cached; try again shortly."
_UNAVAILABLE_FR = ("La base de données du répertoire n’est pas joignable pour le moment et cette tuile n’est pas "
                   "en cache ; réessayez dans un instant.")


def _version(known: LastKnownVersion, at_least: int | None = None) -> tuple[int, bool]:
    try:
        return known.get(at_least)
    except VersionUnknown:
        raise Problem(503, "unavailable", _UNAVAILABLE, detail_fr=_UNAVAILABLE_FR, headers={"Retry-After": "5"}) from None


def _mvt_example() -> dict:
    return {
        "summary": "A z14 tile of the services layer (decoded)",
        "description": (
            "Binary protobuf on the wire. Decoded, e.g. with `mapbox_vector_tile.decode`:\n\n"
            "```json\n"
            '{"services": {"extent": 4096, "version": 2, "features": [{"id": 48213, "geometry": {"type": "Point", "coordinates": [1520, 2311]}, '
            '"properties": {"name": "Youth Wellness Hub – East York", "groups": "mental_health,youth", "open_24_7": false, "capacity": "none"}}]}}\n'
            "```\n\n"
            "Below the points zoom, layer `clusters`: "
            '`{"cell": "872b9bd55ffffff", "count": 23, "food": 5, "shelter": 2, ...}` at the cell centre.'
        ),
    }


TILE_DESCRIPTION = f"""\
A Mapbox Vector Tile 2.1 (Web Mercator, XYZ scheme, extent 4096, buffer 64) of public service
locations. Confidential sites are never in a tile. One layer per tile:

- `services` (zoom >= `points_min_zoom`, 13 by default): one point per public service location. Its MVT
  feature id is the site's `site_key` (as in nearest results, pack snapshots and sync: a number, 3 bytes
  in a tile where the two UUIDs took 40), with properties `groups` (comma-separated category codes),
  `open_24_7` (bool), `capacity` (`available`, `full` or `none`) and `capacity_as_of` (Unix seconds of the
  count; older than TileJSON's `capacity_stale_after_s`: show it as unknown), plus `name` from `labels_min_zoom`
  (14 by default; a city-centre tile below it holds too many points to label); at most `max_features`
  (2,000) per tile;
- `clusters` (lower zooms): one point per H3 cell holding public locations (r4 at z<=5, r5 at z6-7,
  r6 at z8-9, r7 at z10-11, r8 at z12), at the cell centre pulled into the tile, with `cell` (H3 index,
  hex), `count`, and one integer property per category group present (e.g. `shelter`, `food`). A
  location is counted in exactly one tile per zoom, so a tile's counts are the sums of its four
  children's.

With `category`, only locations in any of the groups are drawn, and clusters count only those groups.

Caching: the `ETag` is a hash of the content (`If-None-Match` gives 304). Use the URL template from
`/v1/tiles.json`: it carries `v`, the data version, and such URLs are `immutable`. Without `v`, or with
a `v` that is not the current version, the current data is served with a short max-age
(`stale-while-revalidate`, `stale-if-error`). An empty tile is 204 with no body. Errors are `no-store`.
While the database is unreachable, tiles this server has cached are still served; others are 503."""


TILE_PATH = "/v1/tiles/{z}/{x}/{y}.mvt"  # also answered by service/api/tile_fast_path.py


@router.get(
    TILE_PATH.removeprefix(router.prefix),
    response_class=Response,
    summary="Vector tile of services (points) or clusters",
    description=TILE_DESCRIPTION,
    responses={
        200: {
            "description": "The tile.",
            "content": {MVT: {"schema": {"type": "string", "format": "binary"}, "examples": {"services": _mvt_example()}}},
            "headers": {
                "ETag": {"description": "Content hash; send back in If-None-Match.", "schema": {"type": "string"}},
                "Cache-Control": {"description": "`immutable` for the current versioned URL, else short.", "schema": {"type": "string"}},
            },
        },
        204: {"description": "No Content: nothing on the map in this tile (no body)."},
        304: {"description": "Not Modified: the ETag in If-None-Match is still current."},
        **problem_responses(404, 422, 503),
    },
)
async def tile(
    request: Request,
    context: TileContextDep,
    z: Annotated[int, Path(description="Zoom, 0 to `max_zoom` (18 by default).", examples=[14])],
    x: Annotated[int, Path(description="Column, 0 to 2^z - 1, from the antimeridian eastwards.", examples=[4579])],
    y: Annotated[int, Path(description="Row, 0 to 2^z - 1, from the north edge southwards.", examples=[5979])],
    category: CategoryParam = None,
    v: Annotated[int | None, Query(ge=0, description="Data version, as in the `/v1/tiles.json` URL template.", examples=[42])] = None,
) -> Response:
    return await answer_tile(request, context, z, x, y, category, v)


async def answer_tile(request: Request, context: TileContext, z: int, x: int, y: int,
                      category_values: list[str] | None, v: int | None) -> Response:
    """The tile operation once its parameters are read: by the FastAPI route above, or ahead
    of it by the fast path (service/api/tile_fast_path.py) for plain requests."""
    try:
        check_tile(z, x, y, tile_settings().max_zoom)
    except TileOutOfRange as error:
        raise Problem(404, "not-found", str(error), title="No such tile", title_fr="Tuile inexistante",
                      detail_fr=no_such_tile_fr(z, x, y, tile_settings().max_zoom)) from None
    categories = _categories(category_values)
    # Most requests are for a cached tile while the data version is fresh: answer those here,
    # in the event loop; only a database read or a render goes to a worker thread.
    peeked = context.known_version.peek(at_least=v)
    if peeked is not None:
        version = peeked[0]
        found = context.cache.get(tiles.TileKey.of(version, z, x, y, categories))
        if found is not None:
            return _tile_response(request, found, version, v)
    version, found = await run_in_threadpool(_find_tile, context, z, x, y, categories, v)
    return _tile_response(request, found, version, v)


def _find_tile(context: TileContext, z: int, x: int, y: int, categories, v: int | None) -> tuple[int, tiles.Tile]:
    """(data version, tile): from the cache, else rendered, else (database down, not cached) 503."""
    version, live = _version(context.known_version, at_least=v)
    key = tiles.TileKey.of(version, z, x, y, categories)
    if live:
        def connect():
            return read_connection(context.read_engine, context.engine, min_version=version)

        return version, tiles.get_or_render(connect, context.cache, key, etag_for=etag_for, settings=tile_settings())
    found = context.cache.get(key)
    if found is None:
        raise Problem(503, "unavailable", _UNAVAILABLE, detail_fr=_UNAVAILABLE_FR, headers={"Retry-After": "5"})
    return version, found


def _tile_response(request: Request, found: tiles.Tile, version: int, v: int | None) -> Response:
    # (No Vary here: the GZip middleware adds "Vary: Accept-Encoding" to what it compresses.)
    headers = {"Cache-Control": immutable_cache_control() if v == version else short_cache_control()}
    if found.body is None:
        return Response(status_code=204, headers=headers)
    headers["ETag"] = found.etag
    if if_none_match(request, found.etag):
        return Response(status_code=304, headers=headers)
    return Response(content=found.body, media_type=MVT, headers=headers)


class VectorLayer(BaseModel):
    id: str = Field(examples=["services"])
    description: str
    minzoom: int = Field(examples=[13])
    maxzoom: int = Field(examples=[18])
    fields: dict[str, str] = Field(description="Property name -> type and meaning.")


class TileJSON(BaseModel):
    tilejson: str = Field(examples=["3.0.0"])
    name: str = Field(examples=["fieldnav services"])
    description: str
    version: str = Field(examples=["1.0.0"])
    attribution: str
    scheme: str = Field(examples=["xyz"])
    tiles: list[str] = Field(description="Tile URL template carrying the data version (and the category filter).",
                             examples=[["https://api.example.org/v1/tiles/{z}/{x}/{y}.mvt?v=42"]])
    minzoom: int = Field(examples=[0])
    maxzoom: int = Field(examples=[18])
    bounds: list[float] = Field(description="west, south, east, north of the public locations (WGS84).",
                                examples=[[-94.5359, 42.0153, -74.5913, 55.9888]])
    vector_layers: list[VectorLayer]
    data_version: int = Field(description="fieldnav extension: the data version the tile URLs are for.", examples=[42])


def _bounds(request: Request, engine, version: int, live: bool) -> tuple[float, ...]:
    state = request.app.state
    memo = getattr(state, "tile_bounds", None)  # (version, bounds) of the last tiles.json
    if memo is not None and memo[0] == version:
        return memo[1]
    if not live:
        return memo[1] if memo is not None else tiles.DEFAULT_BOUNDS
    with engine.connect() as connection:
        bounds = tiles.data_bounds(connection)
    state.tile_bounds = (version, bounds)
    return bounds


@router.get(
    "/tiles.json",
    response_model=TileJSON,
    summary="TileJSON 3.0 for the map (MapLibre source)",
    description=(
        "Point a MapLibre vector source at this URL. `tiles` carries the data version (`v`), so every import "
        "gives new tile URLs and tiles under a URL never change (they are cached as `immutable`). With "
        "`category`, the tile URLs draw only those category groups. This document itself is cached briefly."
    ),
    responses={304: {"description": "Not Modified"}, **problem_responses(422, 503)},
)
def tilejson(request: Request, engine: EngineDep, known_version: VersionTrackerDep, category: CategoryParam = None) -> Response:
    settings = tile_settings()
    categories = sorted(_categories(category))
    version, live = _version(known_version)
    query = {"v": version, **({"category": ",".join(categories)} if categories else {})}
    base = str(request.base_url).rstrip("/")
    template = f"{base}{router.prefix}/tiles/{{z}}/{{x}}/{{y}}.mvt?{urlencode(query, safe=',')}"
    document = tiles.tilejson(template, version, _bounds(request, engine, version, live), settings, ATTRIBUTION)
    return cached_json(request, document, cache_control=short_cache_control())
