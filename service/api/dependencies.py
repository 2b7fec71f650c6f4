"""Small FastAPI dependencies, overridable in tests (see tipg's dependencies.py). Each reads
one part of the app's state (service/api/state.py), built once by ``create_app``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from service.api.data_version import DataVersion, LastKnownVersion
from service.api.response_cache import BodyCache
from service.api.share_pages import SharePageCache
from service.api.state import AppState, TileBoundsMemo, TileContext
from service.maps.packs.queue import PackService


def app_state(request: Request) -> AppState:
    """The state of the app serving ``request`` (also for code that runs outside FastAPI's
    dependency solving: the access check, the tile fast path)."""
    return request.app.state.fieldnav


# These never block, so they are ``async``: FastAPI then calls them in the event loop instead
# of handing each to a worker thread (a thread hop per dependency per request).
async def get_engine(request: Request) -> Engine:
    return app_state(request).engine


async def get_read_engine(request: Request) -> Engine:
    """Read-only queries go here: the replica when configured, else the primary."""
    return app_state(request).read_engine


async def get_data_version(request: Request) -> DataVersion:
    return app_state(request).data_version


async def get_version_tracker(request: Request) -> LastKnownVersion:
    """This worker's view of the data version that remembers the last one read, so cached
    responses (tiles, service details) can still be served while the database is down."""
    return app_state(request).version_tracker


async def get_tile_context(request: Request) -> TileContext:
    """Everything a tile request needs, as one dependency (see TileContext)."""
    return app_state(request).tile_context


async def get_tile_bounds(request: Request) -> TileBoundsMemo:
    return app_state(request).tile_bounds


async def get_detail_cache(request: Request) -> BodyCache:
    """This worker's rendered service details, keyed by (data version, service id)."""
    return app_state(request).detail_cache


async def get_share_pages(request: Request) -> SharePageCache:
    """This worker's rendered share pages (service/api/share_pages.py)."""
    return app_state(request).share_pages


async def get_pack_service(request: Request) -> PackService:
    """This worker's packs: their own engine (not the requests' pool), stores and build queue."""
    return app_state(request).packs


EngineDep = Annotated[Engine, Depends(get_engine)]
ReadEngineDep = Annotated[Engine, Depends(get_read_engine)]
DataVersionDep = Annotated[DataVersion, Depends(get_data_version)]
VersionTrackerDep = Annotated[LastKnownVersion, Depends(get_version_tracker)]
TileContextDep = Annotated[TileContext, Depends(get_tile_context)]
TileBoundsDep = Annotated[TileBoundsMemo, Depends(get_tile_bounds)]
DetailCacheDep = Annotated[BodyCache, Depends(get_detail_cache)]
SharePagesDep = Annotated[SharePageCache, Depends(get_share_pages)]
PackServiceDep = Annotated[PackService, Depends(get_pack_service)]
