"""Vector tiles for the map: ``GET /v1/tiles/{z}/{x}/{y}.mvt`` and ``GET /v1/tiles.json``.

The tile operation itself is service/api/tile_endpoint.py, shared with the fast path ahead of
FastAPI's router (service/api/tile_fast_path.py), which takes plain tile requests; the FastAPI
operation below is the documented one and takes the rest. The tile cache and the version
memory are this worker's, in the app's state (service/api/state.py).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from service.api.dependencies import EngineDep, TileBoundsDep, TileContextDep, VersionTrackerDep
from service.api.errors import NoStoreErrorsRoute, problem_responses
from service.api.http_cache import cached_json, short_cache_control
from service.api.request_params import CategoryParam, parse_categories
from service.api.state import TileBoundsMemo
from service.api.tile_endpoint import MVT, TILE_PATH, answer_tile, tile_data_version
from service.maps import tiles
from service.platform.settings import tile_settings

ATTRIBUTION = "Community services data: 211 and partner agencies (Open Referral HSDS)"

router = APIRouter(prefix="/v1", tags=["tiles"], route_class=NoStoreErrorsRoute)


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


TILE_DESCRIPTION = """\
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


@router.get(
    TILE_PATH.removeprefix(router.prefix),
    response_class=Response,
    summary="Vector tile of services (points) or clusters",
    description=TILE_DESCRIPTION,
    responses={
        200: {
            "description": "The tile.",
            "content": {
                MVT: {"schema": {"type": "string", "format": "binary"}, "examples": {"services": _mvt_example()}}
            },
            "headers": {
                "ETag": {"description": "Content hash; send back in If-None-Match.", "schema": {"type": "string"}},
                "Cache-Control": {
                    "description": "`immutable` for the current versioned URL, else short.",
                    "schema": {"type": "string"},
                },
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
    v: Annotated[
        int | None, Query(ge=0, description="Data version, as in the `/v1/tiles.json` URL template.", examples=[42])
    ] = None,
) -> Response:
    return await answer_tile(request, context, z, x, y, category, v)


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
    tiles: list[str] = Field(
        description="Tile URL template carrying the data version (and the category filter).",
        examples=[["https://api.example.org/v1/tiles/{z}/{x}/{y}.mvt?v=42"]],
    )
    minzoom: int = Field(examples=[0])
    maxzoom: int = Field(examples=[18])
    bounds: list[float] = Field(
        description="west, south, east, north of the public locations (WGS84).",
        examples=[[-94.5359, 42.0153, -74.5913, 55.9888]],
    )
    vector_layers: list[VectorLayer]
    data_version: int = Field(description="fieldnav extension: the data version the tile URLs are for.", examples=[42])


def _bounds(memo: TileBoundsMemo, engine: Engine, version: int, live: bool) -> tuple[float, ...]:
    """The bounds of the public locations at ``version``: read once per version; while the
    database is down, the last ones read (or a default)."""
    known = memo.at(version)
    if known is not None:
        return known
    if not live:
        latest = memo.latest()
        return latest if latest is not None else tiles.DEFAULT_BOUNDS
    with engine.connect() as connection:
        bounds = tiles.data_bounds(connection)
    memo.keep(version, bounds)
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
def tilejson(
    request: Request,
    engine: EngineDep,
    known_version: VersionTrackerDep,
    bounds_memo: TileBoundsDep,
    category: CategoryParam = None,
) -> Response:
    settings = tile_settings()
    categories = sorted(parse_categories(category))
    version, live = tile_data_version(known_version)
    query = {"v": version, **({"category": ",".join(categories)} if categories else {})}
    base = str(request.base_url).rstrip("/")
    template = f"{base}{router.prefix}/tiles/{{z}}/{{x}}/{{y}}.mvt?{urlencode(query, safe=',')}"
    document = tiles.tilejson(template, version, _bounds(bounds_memo, engine, version, live), settings, ATTRIBUTION)
    return cached_json(request, document, cache_control=short_cache_control())
