"""The optional basemap (service/maps/basemap.py): ``GET /v1/basemap.json``,
``GET /v1/basemap/{z}/{x}/{y}`` and an offline pack's basemap part,
``GET /v1/offline/packs/{pack_id}/basemap.pmtiles``."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from service.api.dependencies import EngineDep, PackServiceDep
from service.api.errors import NoStoreErrorsRoute, Problem, problem_responses
from service.api.file_responses import PMTILES, RANGE_RESPONSES, accepts_gzip, immutable_file_response
from service.api.http_cache import cached_json, etag_for, if_none_match, immutable_cache_control, short_cache_control
from service.api.request_params import PackId
from service.maps import basemap, packs
from service.platform.problem_texts import no_such_tile_fr
from spatial.tiles import ZOOM_LIMIT, TileOutOfRange, check_tile

router = APIRouter(prefix="/v1", tags=["basemap"], route_class=NoStoreErrorsRoute)

NOT_CONFIGURED = (
    "No basemap is configured on this server: draw services over a plain background. "
    "(Operators: set FIELDNAV_BASEMAP_PMTILES to a PMTiles archive.)"
)
NOT_CONFIGURED_FR = (
    "Aucun fond de carte n’est configuré sur ce serveur : affichez les services sur un fond uni. "
    "(Exploitants : donnez à FIELDNAV_BASEMAP_PMTILES le chemin d’une archive PMTiles.)"
)


def _basemap() -> basemap.Basemap:
    try:
        found = basemap.configured_basemap()
    except basemap.BasemapUnavailable:
        # The reason (a path, a format) is for the operator's log, not for clients.
        raise Problem(
            503,
            "unavailable",
            "The basemap cannot be read right now; draw services over a plain background and try again later.",
            headers={"Retry-After": "60"},
            detail_fr="Le fond de carte ne peut pas être lu pour le moment ; affichez les services sur un "
            "fond uni et réessayez plus tard.",
        ) from None
    if found is None:
        raise Problem(404, "basemap-not-configured", NOT_CONFIGURED, title="No basemap", detail_fr=NOT_CONFIGURED_FR)
    return found


class BasemapTileJSON(BaseModel):
    tilejson: str = Field(examples=["3.0.0"])
    name: str
    description: str
    version: str = Field(
        description="Fingerprint of the archive; also the `v` of the tile URLs.", examples=["9f2c4e1a7b3d5c60"]
    )
    attribution: str
    scheme: str = Field(examples=["xyz"])
    tiles: list[str] = Field(examples=[["https://api.example.org/v1/basemap/{z}/{x}/{y}?v=9f2c4e1a7b3d5c60"]])
    minzoom: int
    maxzoom: int
    bounds: list[float]
    center: list[float]
    format: str = Field(description="pbf (vector tiles), png, jpg, webp or avif.", examples=["pbf"])
    type: str = Field(
        description="fieldnav extension: the MapLibre source type, `vector` or `raster`.", examples=["vector"]
    )
    vector_layers: list[dict] | None = Field(default=None, description="For vector basemaps: the archive's layers.")


@router.get(
    "/basemap.json",
    response_model=BasemapTileJSON,
    summary="TileJSON of the optional basemap (MapLibre source)",
    description=(
        "The basemap the server is configured with (`FIELDNAV_BASEMAP_PMTILES`, a PMTiles archive, vector or "
        "raster). 404 `basemap-not-configured` when there is none: draw services over a plain background. Tile "
        "URLs carry `v`, the archive's fingerprint, and are `immutable`."
    ),
    responses={304: {"description": "Not Modified"}, **problem_responses(404, 503, types=("basemap-not-configured",))},
)
def basemap_tilejson(request: Request) -> Response:
    found = _basemap()
    base = str(request.base_url).rstrip("/")
    template = f"{base}{router.prefix}/basemap/{{z}}/{{x}}/{{y}}?v={found.version}"
    return cached_json(request, found.tilejson(template), cache_control=short_cache_control())


@router.get(
    "/basemap/{z}/{x}/{y}",
    response_class=Response,
    summary="A basemap tile",
    description=(
        "The tile as stored in the basemap archive, with its tile type's media type (vector tiles: "
        "`application/vnd.mapbox-vector-tile`, sent `Content-Encoding: gzip` when stored gzipped). 204 when the "
        "archive has no tile there; 404 `basemap-not-configured` when the server has no basemap. `ETag` from the "
        "content; with the current `v` the URL is `immutable`."
    ),
    responses={
        200: {
            "description": "The tile.",
            "content": {
                "application/vnd.mapbox-vector-tile": {},
                "image/png": {},
                "image/jpeg": {},
                "image/webp": {},
                "image/avif": {},
            },
        },
        204: {"description": "No Content: the archive holds no tile here."},
        304: {"description": "Not Modified"},
        **problem_responses(404, 422, 503, types=("basemap-not-configured",)),
    },
)
def basemap_tile(
    request: Request,
    z: Annotated[int, Path(description="Zoom.", examples=[12])],
    x: Annotated[int, Path(description="Column.", examples=[1143])],
    y: Annotated[int, Path(description="Row.", examples=[1493])],
    v: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Archive fingerprint, as in the `/v1/basemap.json` URL template.",
            examples=["3f9a1c2b7d4e5a60"],
        ),
    ] = None,
) -> Response:
    try:
        check_tile(z, x, y, ZOOM_LIMIT)
    except TileOutOfRange as error:
        raise Problem(
            404,
            "not-found",
            str(error),
            title="No such tile",
            title_fr="Tuile inexistante",
            detail_fr=no_such_tile_fr(z, x, y, ZOOM_LIMIT),
        ) from None
    found = _basemap()
    headers = {
        "Cache-Control": immutable_cache_control() if v == found.version else short_cache_control(),
        "Vary": "Accept-Encoding",
    }
    data = found.tile(z, x, y)
    if data is None:
        return Response(status_code=204, headers=headers)
    headers["ETag"] = etag_for(data)
    if if_none_match(request, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    if found.tiles_gzipped:
        if accepts_gzip(request):
            headers["Content-Encoding"] = "gzip"
        else:
            data = gzip.decompress(data)
    return Response(content=bytes(data), media_type=found.media_type, headers=headers)


@router.get(
    "/offline/packs/{pack_id}/basemap.pmtiles",
    summary="Download a pack's basemap archive (byte ranges supported)",
    description=(
        "When the server has a basemap, a pack carries the basemap tiles of its area as a second PMTiles archive "
        "(its manifest's `basemap` entry and `urls.basemap`). Same rules as the pack archive: `Range` (206), "
        "`If-None-Match` (304; the ETag is its SHA-256), immutable. 404 when the pack has no basemap part."
    ),
    response_class=Response,
    responses={
        200: {"content": {PMTILES: {}}},
        **RANGE_RESPONSES,
        304: {"description": "Not Modified"},
        **problem_responses(404, 422, 503),
    },
)
def pack_basemap(request: Request, engine: EngineDep, service: PackServiceDep, pack_id: PackId) -> Response:
    # Checks the pack exists and marks it used, like its other files; the part is in their store.
    archive = packs.open_pack_file(engine, pack_id, "archive", stores=service.stores, now=datetime.now(UTC))
    part = packs.basemap_part_file(archive, pack_id)
    if part is None:
        raise Problem(
            404,
            "not-found",
            f"Offline pack {pack_id} has no basemap (the server had none when it was built).",
            detail_fr=f"La zone hors ligne {pack_id} n’a pas de fond de carte (le serveur n’en avait pas "
            "lorsqu’elle a été préparée).",
        )
    return immutable_file_response(request, part, etag=f'"{part.sha256}"', media_type=PMTILES)
