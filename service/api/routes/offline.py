"""Offline packs: build or reuse one, read its manifest, download its files (service/packs.py)."""

from __future__ import annotations

import gzip
import uuid
from datetime import datetime, timezone

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from starlette.responses import FileResponse

from service import packs
from service.api.dependencies import EngineDep
from service.api.errors import problem_responses
from service.api.http_cache import if_none_match
from service.api.responses import RawJSONResponse
from service.settings import pack_settings

router = APIRouter(prefix="/v1", tags=["offline"])

PMTILES = "application/vnd.pmtiles"
# A pack id's files never change (a rebuild gets a new id).
IMMUTABLE = "public, max-age=31536000, immutable"
MANIFEST_CACHE = "private, no-cache"


class PackFileInfo(BaseModel):
    count: int = Field(description="Sites in the snapshot.")
    bytes: int = Field(description="Size of the snapshot JSON (as decoded).")
    sha256: str = Field(description="SHA-256 of the snapshot JSON (as decoded), hex.")


class PackUrls(BaseModel):
    archive: str = Field(examples=["/v1/offline/packs/6f1c2b9e-0d4a-4f5e-9b1a-3c2d1e0f9a8b.pmtiles"])
    services: str = Field(examples=["/v1/offline/packs/6f1c2b9e-0d4a-4f5e-9b1a-3c2d1e0f9a8b/services.json"])
    manifest: str = Field(examples=["/v1/offline/packs/6f1c2b9e-0d4a-4f5e-9b1a-3c2d1e0f9a8b"])
    basemap: str | None = Field(
        default=None, description="The area's basemap tiles (PMTiles v3); only when the server has a basemap.",
        examples=["/v1/offline/packs/6f1c2b9e-0d4a-4f5e-9b1a-3c2d1e0f9a8b/basemap.pmtiles"])


class PackBasemapInfo(BaseModel):
    tile_count: int = Field(description="Basemap tiles in the part archive.")
    bytes: int = Field(description="Size of the basemap part archive.")
    sha256: str = Field(description="SHA-256 of the basemap part archive, hex (also its ETag).")
    format: str = Field(description="TileJSON format of the tiles: pbf, png, jpg, webp or avif.", examples=["pbf"])
    type: str = Field(description="MapLibre source type: vector or raster.", examples=["vector"])
    min_zoom: int
    max_zoom: int = Field(description="Top zoom of the part; may be below the pack's (MapLibre overzooms).")
    layers: list[str] = Field(description="Vector layer ids (empty for rasters).")


class PackManifest(BaseModel):
    id: str
    data_version: int = Field(description="Data version the pack holds; sync deltas from it.")
    bbox: list[float] = Field(description="min_lon, min_lat, max_lon, max_lat the pack covers.")
    min_zoom: int
    max_zoom: int
    categories: list[str] = Field(description="Category groups the pack is limited to; empty: all.")
    tile_count: int = Field(description="Tiles in the archive (empty tiles are left out).")
    bytes: int = Field(description="Size of the PMTiles archive.")
    sha256: str = Field(description="SHA-256 of the PMTiles archive, hex (also its ETag).")
    services: PackFileInfo
    basemap: PackBasemapInfo | None = Field(
        default=None, description="The area's basemap part (service/basemap.py); null when no basemap is configured.")
    urls: PackUrls
    created_at: str


def _pack_dir():
    return packs.pack_dir(pack_settings())


def _json(content: dict, status_code: int = 200, headers: dict | None = None) -> Response:
    return RawJSONResponse(orjson.dumps(content), status_code=status_code,
                           headers={"Cache-Control": MANIFEST_CACHE, **(headers or {})})


@router.post(
    "/offline/packs",
    response_model=PackManifest,
    status_code=201,
    summary="Build (or reuse) an offline pack for an area",
    description=(
        "Map tiles of a bbox (or of the union of H3 cells) for a zoom range, as one PMTiles v3 archive, plus a "
        "snapshot of the services in the area (the fields of `/v1/services/nearest` results) for offline search. "
        "201 when built now, 200 when the same request was already built at the current data version. A pack over "
        "the size cap gets 422 `pack-too-large`, whose detail says how to shrink the request."
    ),
    responses={200: {"description": "The same pack, already built", "model": PackManifest},
               **problem_responses(422, 503)},
)
def create_pack(engine: EngineDep, body: packs.PackRequest) -> Response:
    settings = pack_settings()
    manifest, created = packs.build_or_reuse(engine, body, settings=settings, now=datetime.now(timezone.utc),
                                             directory=packs.pack_dir(settings))
    headers = {"Location": manifest["urls"]["manifest"]} if created else None
    return _json(manifest, status_code=201 if created else 200, headers=headers)


def _serve(request: Request, path, *, etag: str, media_type: str, headers: dict | None = None) -> Response:
    common = {"ETag": etag, "Cache-Control": IMMUTABLE, **(headers or {})}
    if if_none_match(request, etag):
        return Response(status_code=304, headers=common)
    return FileResponse(path, media_type=media_type, headers=common)


@router.get(
    "/offline/packs/{pack_id}.pmtiles",
    summary="Download a pack's PMTiles archive (byte ranges supported)",
    description=(
        "The archive, immutable for this id. Supports `Range` (206) and `If-Range`, and `If-None-Match` (304); the "
        "ETag is the archive's SHA-256. Tiles are gzip-compressed MVT, as MapLibre's pmtiles protocol reads them."
    ),
    response_class=Response,
    responses={200: {"content": {PMTILES: {}}}, 206: {"description": "Partial Content", "content": {PMTILES: {}}},
               304: {"description": "Not Modified"}, 416: {"description": "Range Not Satisfiable"},
               **problem_responses(404, 422, 503)},
)
def pack_archive(request: Request, engine: EngineDep, pack_id: uuid.UUID) -> Response:
    found = packs.open_pack_file(engine, pack_id, "archive", directory=_pack_dir(), now=datetime.now(timezone.utc))
    # The GZip middleware leaves application/vnd.pmtiles alone (app.py): tiles are gzipped
    # already, and byte offsets must be the file's (a strong ETag promises the same bytes).
    return _serve(request, found.path, etag=f'"{found.sha256}"', media_type=PMTILES)


def _accepts_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip().removeprefix("q=").strip() if params.strip().startswith("q=") else "1"
            try:
                return float(q) > 0
            except ValueError:
                return True
    return False


@router.get(
    "/offline/packs/{pack_id}/services.json",
    summary="Download a pack's services snapshot",
    description=(
        "`{data_version, generated_at, bbox, categories, services}`: every active site of the pack's area, each as "
        "a `/v1/services/nearest` result without the distance fields (confidential sites without position). Served "
        "gzip-encoded to clients that accept it (byte ranges then count in the gzip stream), with a strong ETag per "
        "encoding and 304 on `If-None-Match`. Immutable for this id."
    ),
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}, 304: {"description": "Not Modified"},
               **problem_responses(404, 422, 503)},
)
def pack_services(request: Request, engine: EngineDep, pack_id: uuid.UUID) -> Response:
    found = packs.open_pack_file(engine, pack_id, "services", directory=_pack_dir(), now=datetime.now(timezone.utc))
    vary = {"Vary": "Accept-Encoding"}
    if _accepts_gzip(request):
        return _serve(request, found.path, etag=f'"{found.sha256}.gz"', media_type="application/json",
                      headers={"Content-Encoding": "gzip", **vary})
    etag = f'"{found.sha256}"'
    if if_none_match(request, etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": IMMUTABLE, **vary})
    body = gzip.decompress(found.path.read_bytes())
    return Response(body, media_type="application/json", headers={"ETag": etag, "Cache-Control": IMMUTABLE, **vary})


@router.get(
    "/offline/packs/{pack_id}",
    response_model=PackManifest,
    summary="An offline pack's manifest",
    responses={**problem_responses(404, 422, 503)},
)
def pack_manifest(engine: EngineDep, pack_id: uuid.UUID) -> Response:
    return _json(packs.pack_manifest(engine, pack_id, directory=_pack_dir()))
