"""Small FastAPI dependencies, overridable in tests (see tipg's dependencies.py)."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from service.api.data_version import DataVersion, LastKnownVersion
from service.platform.db import read_data_version


# These never block, so they are ``async``: FastAPI then calls them in the event loop instead
# of handing each to a worker thread (a thread hop per dependency per request).
async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


async def get_read_engine(request: Request) -> Engine:
    """Read-only queries go here: the replica when configured, else the primary."""
    return request.app.state.read_engine


async def get_data_version(request: Request) -> DataVersion:
    return request.app.state.data_version


_STATE_LOCK = threading.Lock()


async def get_version_tracker(request: Request) -> LastKnownVersion:
    """This worker's view of the data version that remembers the last one read, so cached
    responses (tiles, service details) can still be served while the database is down."""
    app = request.app
    tracker = getattr(app.state, "version_tracker", None)
    if tracker is None:
        with _STATE_LOCK:
            tracker = getattr(app.state, "version_tracker", None)
            if tracker is None:
                def read_fresh() -> int:
                    with app.state.engine.connect() as connection:
                        return read_data_version(connection)

                data_version = app.state.data_version
                tracker = app.state.version_tracker = LastKnownVersion(
                    data_version.current, read_fresh, cached=data_version.cached)
    return tracker


EngineDep = Annotated[Engine, Depends(get_engine)]
ReadEngineDep = Annotated[Engine, Depends(get_read_engine)]
DataVersionDep = Annotated[DataVersion, Depends(get_data_version)]
VersionTrackerDep = Annotated[LastKnownVersion, Depends(get_version_tracker)]
