"""Delta sync for the offline directory: ``GET /v1/sync/services`` (see service/maps/sync.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from service.api.dependencies import EngineDep
from service.api.errors import problem_responses
from service.api.http_cache import cached_json
from service.api.schemas import OfflineSite
from service.maps import sync
from service.platform.settings import sync_settings

router = APIRouter(prefix="/v1", tags=["sync"])

# The answer changes with every import, and the next page must never come from a cache.
SYNC_CACHE = "private, no-cache"


class SyncService(BaseModel):
    id: str = Field(examples=["9c1d7e2a-3b4f-4c5d-8e6f-7a8b9c0d1e2f"], description="Service id (UUID).")
    op: Literal["upsert"] = Field(description="Replace every site the client holds for this service with `sites`.")
    sites: list[OfflineSite] = Field(
        description="The service's active sites, each as a `/v1/services/nearest` "
        "result without the distance fields and the hours of the moment, "
        "with the weekly hours rule."
    )


class SyncTombstone(BaseModel):
    id: str = Field(
        description="Id of a service to remove (deleted, made inactive, or left with no site).",
        examples=["0d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a"],
    )


class SyncPage(BaseModel):
    data_version: int = Field(examples=[42], description="Data version the page was read at.")
    capacity_stale_after_s: int = Field(
        examples=[43200],
        description=(
            "A count (`capacity.as_of`) older than this is stale: the app greys it and does not count it as free."
        ),
    )
    mode: Literal["snapshot", "delta"] = Field(
        description="snapshot: paging through the whole directory; delta: changes since the cursor."
    )
    services: list[SyncService]
    tombstones: list[SyncTombstone]
    next_cursor: str = Field(
        description="Opaque. Send it back as `cursor`; store it once the page is applied.",
        examples=["eyJzIjoxMjM0LCJwIjpudWxsfQ"],
    )
    has_more: bool = Field(description="More pages are ready now: call again with next_cursor.")


@router.get(
    "/sync/services",
    response_model=SyncPage,
    summary="Services changed since a cursor (offline sync)",
    description=(
        "Without a cursor: the whole directory (every active site, public and confidential) in pages, then a cursor "
        "for deltas. With a cursor: services changed since it (replace their sites) and tombstones for removed ones, "
        "in change-log order. Follow `next_cursor` while `has_more`. A cursor older than the change history the "
        "server keeps gets 410 `cursor-expired`: download a fresh offline pack and restart without a cursor."
    ),
    responses={
        304: {"description": "Not Modified"},
        **problem_responses(400, 410, 422, 503, types=("invalid-cursor", "cursor-expired")),
    },
)
def sync_services(
    request: Request,
    engine: EngineDep,
    cursor: Annotated[
        str | None,
        Query(
            max_length=200,
            description="`next_cursor` from the previous page; omit to start over.",
            examples=["eyJzIjoxMjM0LCJwIjpudWxsfQ"],
        ),
    ] = None,
) -> Response:
    decoded = sync.decode_cursor(cursor) if cursor else None
    page = sync.sync_page(engine, decoded, page_size=sync_settings().page_size, now=datetime.now(UTC))
    return cached_json(request, page, cache_control=SYNC_CACHE)
