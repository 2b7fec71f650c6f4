"""The tile operation, ``GET /v1/tiles/{z}/{x}/{y}.mvt``, once its parameters are read: shared by
the FastAPI route (service/api/routes/tiles.py) and the fast path ahead of the router
(service/api/tile_fast_path.py), so both answer alike.

Rendering, the tile cache and the version bookkeeping live in service/maps/tiles.py; this module
picks the data version, the cache policy and shapes the response.
"""

from __future__ import annotations

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from service.api.data_version import LastKnownVersion, VersionUnknown
from service.api.http_cache import etag_for, if_none_match, immutable_cache_control, short_cache_control
from service.api.request_params import parse_categories
from service.api.state import TileContext
from service.maps import tiles
from service.platform.db import read_connection
from service.platform.problem_texts import no_such_tile_fr
from service.platform.problems import Problem
from service.platform.settings import tile_settings
from spatial.tiles import TileOutOfRange, check_tile

TILE_PATH = "/v1/tiles/{z}/{x}/{y}.mvt"
MVT = tiles.MVT_MEDIA_TYPE

TILE_UNAVAILABLE = "The directory database is not reachable right now and this tile is not cached; try again shortly."
TILE_UNAVAILABLE_FR = (
    "La base de données du répertoire n’est pas joignable pour le moment et cette tuile n’est pas "
    "en cache ; réessayez dans un instant."
)


def tile_unavailable() -> Problem:
    return Problem(503, "unavailable", TILE_UNAVAILABLE, detail_fr=TILE_UNAVAILABLE_FR, headers={"Retry-After": "5"})


def tile_data_version(known: LastKnownVersion, at_least: int | None = None) -> tuple[int, bool]:
    """(data version, live) the map is served at; 503 when the database cannot be read and
    this worker has never known a version."""
    try:
        return known.get(at_least)
    except VersionUnknown:
        raise tile_unavailable() from None


async def answer_tile(
    request: Request, context: TileContext, z: int, x: int, y: int, category_values: list[str] | None, v: int | None
) -> Response:
    """The tile operation once its parameters are read: by the FastAPI route, or ahead of it by
    the fast path for plain requests."""
    try:
        check_tile(z, x, y, tile_settings().max_zoom)
    except TileOutOfRange as error:
        raise Problem(
            404,
            "not-found",
            str(error),
            title="No such tile",
            title_fr="Tuile inexistante",
            detail_fr=no_such_tile_fr(z, x, y, tile_settings().max_zoom),
        ) from None
    categories = parse_categories(category_values)
    # Most requests are for a cached tile while the data version is fresh: answer those here,
    # in the event loop; only a database read or a render goes to a worker thread.
    peeked = context.known_version.peek(at_least=v)
    if peeked is not None:
        version = peeked[0]
        cached = context.cache.get(tiles.TileKey.of(version, z, x, y, categories))
        if cached is not None:
            return _tile_response(request, cached, version, v)
    version, found = await run_in_threadpool(_find_tile, context, z, x, y, categories, v)
    return _tile_response(request, found, version, v)


def _find_tile(context: TileContext, z: int, x: int, y: int, categories, v: int | None) -> tuple[int, tiles.Tile]:
    """(data version, tile): from the cache, else rendered, else (database down, not cached) 503."""
    version, live = tile_data_version(context.known_version, at_least=v)
    key = tiles.TileKey.of(version, z, x, y, categories)
    if live:

        def connect():
            return read_connection(context.read_engine, context.engine, min_version=version)

        return version, tiles.get_or_render(connect, context.cache, key, etag_for=etag_for, settings=tile_settings())
    found = context.cache.get(key)
    if found is None:
        raise tile_unavailable()
    return version, found


def _tile_response(request: Request, found: tiles.Tile, version: int, v: int | None) -> Response:
    # (No Vary here: the GZip middleware adds "Vary: Accept-Encoding" to what it compresses.)
    headers = {"Cache-Control": immutable_cache_control() if v == version else short_cache_control()}
    if found.body is None:
        return Response(status_code=204, headers=headers)
    assert found.etag is not None  # tiles.get_or_render gives every tile with a body its ETag
    headers["ETag"] = found.etag
    if if_none_match(request, found.etag):
        return Response(status_code=304, headers=headers)
    return Response(content=found.body, media_type=MVT, headers=headers)
