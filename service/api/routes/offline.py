"""Offline packs: build or reuse one, read its manifest, download its files (service/maps/packs/)."""

from __future__ import annotations

import gzip
import time
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.concurrency import run_in_threadpool

from service.api.dependencies import EngineDep, PackServiceDep
from service.api.errors import problem_responses
from service.api.file_responses import PMTILES, RANGE_RESPONSES, accepts_gzip, immutable_file_response
from service.api.http_cache import if_none_match, immutable_cache_control
from service.api.request_params import PackId
from service.api.responses import json_response
from service.maps import packs
from service.maps.packs import queue as pack_queue

router = APIRouter(prefix="/v1", tags=["offline"])

# A pack id's files never change (a rebuild gets a new id): immutable_cache_control().
MANIFEST_CACHE = "private, no-cache"


class PackFileInfo(BaseModel):
    count: int = Field(examples=[412], description="Sites in the snapshot.")
    bytes: int = Field(examples=[389120], description="Size of the snapshot JSON (as decoded).")
    sha256: str = Field(
        description="SHA-256 of the snapshot JSON (as decoded), hex.",
        examples=["9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e8a0c2e4f6a8b0d2f4e6a8c0b"],
    )


class PackUrls(BaseModel):
    archive: str = Field(examples=["/v1/offline/packs/6f1c2b9e-0d4a-4f5e-9b1a-3c2d1e0f9a8b.pmtiles"])
    services: str = Field(examples=["/v1/offline/packs/6f1c2b9e-0d4a-4f5e-9b1a-3c2d1e0f9a8b/services.json"])
    manifest: str = Field(examples=["/v1/offline/packs/6f1c2b9e-0d4a-4f5e-9b1a-3c2d1e0f9a8b"])
    basemap: str | None = Field(
        default=None,
        description="The area's basemap tiles (PMTiles v3); only when the server has a basemap.",
        examples=["/v1/offline/packs/6f1c2b9e-0d4a-4f5e-9b1a-3c2d1e0f9a8b/basemap.pmtiles"],
    )


class PackBasemapInfo(BaseModel):
    tile_count: int = Field(examples=[96], description="Basemap tiles in the part archive.")
    bytes: int = Field(examples=[1843200], description="Size of the basemap part archive.")
    sha256: str = Field(
        description="SHA-256 of the basemap part archive, hex (also its ETag).",
        examples=["9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e8a0c2e4f6a8b0d2f4e6a8c0b"],
    )
    format: str = Field(description="TileJSON format of the tiles: pbf, png, jpg, webp or avif.", examples=["pbf"])
    type: str = Field(description="MapLibre source type: vector or raster.", examples=["vector"])
    min_zoom: int = Field(examples=[10])
    max_zoom: int = Field(
        examples=[14], description="Top zoom of the part; may be below the pack's (MapLibre overzooms)."
    )
    layers: list[str] = Field(examples=[["land", "water"]], description="Vector layer ids (empty for rasters).")


class PackManifest(BaseModel):
    id: str = Field(examples=["6f1c2b9e-0d4a-4f5e-9b1a-3c2d1e0f9a8b"])
    data_version: int = Field(examples=[42], description="Data version the pack holds; sync deltas from it.")
    bbox: list[float] = Field(
        examples=[[-79.42, 43.63, -79.36, 43.68]], description="min_lon, min_lat, max_lon, max_lat the pack covers."
    )
    min_zoom: int = Field(examples=[10])
    max_zoom: int = Field(examples=[16])
    categories: list[str] = Field(
        examples=[["shelter", "food"]], description="Category groups the pack is limited to; empty: all."
    )
    tile_count: int = Field(examples=[1180], description="Tiles in the archive (empty tiles are left out).")
    bytes: int = Field(examples=[2411520], description="Size of the PMTiles archive.")
    sha256: str = Field(
        description="SHA-256 of the PMTiles archive, hex (also its ETag).",
        examples=["9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e8a0c2e4f6a8b0d2f4e6a8c0b"],
    )
    services: PackFileInfo
    basemap: PackBasemapInfo | None = Field(
        default=None,
        description="The area's basemap part (service/maps/basemap.py); null when no basemap is configured.",
    )
    urls: PackUrls
    created_at: str = Field(examples=["2026-11-25T14:03:11+00:00"])


@router.post(
    "/offline/packs",
    response_model=PackManifest,
    status_code=201,
    summary="Build (or reuse) an offline pack for an area",
    description=(
        "Map tiles of a bbox (or of the union of H3 cells) for a zoom range, as one PMTiles v3 archive, plus a "
        "snapshot of the services in the area (the fields of `/v1/services/nearest` results) for offline search. "
        "201 when built now, 200 when the same request was already built at the current data version. A pack over "
        "the size cap gets 422 `pack-too-large`, whose detail says how to shrink the request. Builds are queued: "
        "when the server builds as many packs as it allows and its queue is full (or the wait runs out), 503 "
        "`pack-builds-busy` with `Retry-After`; a build stopped by the server's time limit is 503 "
        "`pack-build-timeout`. A pack already built never waits."
    ),
    responses={
        200: {"description": "The same pack, already built", "model": PackManifest},
        **problem_responses(
            422,
            503,
            types=(
                "pack-too-large",
                "unknown-category",
                "pack-builds-busy",
                "pack-build-timeout",
                "pack-storage-not-shared",
            ),
        ),
    },
)
async def create_pack(service: PackServiceDep, body: packs.PackRequest) -> Response:
    # A pack already built is answered at once; a build waits for a slot of this worker's
    # queue in the event loop (no thread, no connection held), then runs in a thread on the
    # packs' own pool (service/maps/packs/queue.py). Over capacity: 503 pack-builds-busy.
    settings, now, queued_at_s = service.settings, datetime.now(UTC), time.monotonic()
    try:
        plan = await run_in_threadpool(packs.plan_pack, body, settings)
        found = await run_in_threadpool(packs.find_reusable, service.engine, plan, service.stores, now)
        if found is not None:
            manifest, created = found, False
        else:
            async with service.queue.slot():
                manifest, created = await run_in_threadpool(
                    packs.build_or_reuse,
                    service.engine,
                    body,
                    settings=settings,
                    now=now,
                    stores=service.stores,
                    wait_until_s=queued_at_s + settings.queue_wait_s,
                )
    except PoolTimeoutError:  # the packs' pool, never the requests': this is the queue being full
        raise pack_queue.busy() from None
    headers = {"Location": manifest["urls"]["manifest"]} if created else None
    return json_response(manifest, status_code=201 if created else 200, headers=headers, cache_control=MANIFEST_CACHE)


@router.get(
    "/offline/packs/{pack_id}.pmtiles",
    summary="Download a pack's PMTiles archive (byte ranges supported)",
    description=(
        "The archive, immutable for this id. Supports `Range` (206) and `If-Range`, and `If-None-Match` (304); the "
        "ETag is the archive's SHA-256. Tiles are gzip-compressed MVT, as MapLibre's pmtiles protocol reads them."
    ),
    response_class=Response,
    responses={
        200: {"content": {PMTILES: {}}},
        **RANGE_RESPONSES,
        304: {"description": "Not Modified"},
        **problem_responses(404, 422, 503, types=("pack-storage-not-shared",)),
    },
)
def pack_archive(request: Request, engine: EngineDep, service: PackServiceDep, pack_id: PackId) -> Response:
    found = packs.open_pack_file(engine, pack_id, "archive", stores=service.stores, now=datetime.now(UTC))
    # The GZip middleware leaves application/vnd.pmtiles alone (app.py): tiles are gzipped
    # already, and byte offsets must be the file's (a strong ETag promises the same bytes).
    return immutable_file_response(request, found, etag=f'"{found.sha256}"', media_type=PMTILES)


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
    responses={
        200: {"content": {"application/json": {}}},
        206: {
            "description": "Partial Content: byte ranges of the gzip stream (when served gzip-encoded).",
            "content": {"application/json": {}, "multipart/byteranges": {}},
        },
        304: {"description": "Not Modified"},
        **problem_responses(404, 416, 422, 503, types=("range-not-satisfiable", "pack-storage-not-shared")),
    },
)
def pack_services(request: Request, engine: EngineDep, service: PackServiceDep, pack_id: PackId) -> Response:
    found = packs.open_pack_file(engine, pack_id, "services", stores=service.stores, now=datetime.now(UTC))
    vary = {"Vary": "Accept-Encoding"}
    if accepts_gzip(request):
        return immutable_file_response(
            request,
            found,
            etag=f'"{found.sha256}.gz"',
            media_type="application/json",
            headers={"Content-Encoding": "gzip", **vary},
        )
    etag = f'"{found.sha256}"'
    if if_none_match(request, etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": immutable_cache_control(), **vary})
    body = gzip.decompress(found.storage.read(found.name))
    return Response(
        body, media_type="application/json", headers={"ETag": etag, "Cache-Control": immutable_cache_control(), **vary}
    )


@router.get(
    "/offline/packs/{pack_id}",
    response_model=PackManifest,
    summary="An offline pack's manifest",
    responses={**problem_responses(404, 422, 503, types=("pack-storage-not-shared",))},
)
def pack_manifest(engine: EngineDep, service: PackServiceDep, pack_id: PackId) -> Response:
    return json_response(packs.pack_manifest(engine, pack_id, stores=service.stores), cache_control=MANIFEST_CACHE)
