"""The application factory: `fieldnav serve` and the tests build the app here, and with it the
app's state (service/api/state.py), once: engines, caches, the access checks' memories, the packs."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from service import __version__
from service.api.errors import install_error_handlers
from service.api.middleware import BodySizeLimit, HeadAsGet, QueryStringCheck, SecurityHeaders
from service.api.nearest_endpoint import NEAREST_PATH
from service.api.nearest_fast_path import NearestFastPath
from service.api.openapi_doc import custom_openapi
from service.api.responses import CompactJSONResponse
from service.api.routes import (
    admin_providers,
    app_static,
    basemap,
    capacity,
    devices,
    handoffs,
    hsds,
    me,
    meta,
    navigator,
    offline,
    places,
    reports,
    services,
    shares,
    sources,
    stats,
    sync,
    tiles,
)
from service.api.security import authorize
from service.api.state import AppState
from service.api.text_check import RequestTextCheck
from service.api.tile_endpoint import TILE_PATH
from service.api.tile_fast_path import TileFastPath
from service.platform.observability.middleware import RequestObservation
from service.platform.settings import limit_settings


class FieldnavAPI(FastAPI):
    def openapi(self) -> dict[str, Any]:
        """The contract, with fieldnav's problem documents and security schemes
        (service/api/openapi_doc.py)."""
        return custom_openapi(self)


def _operation(router: APIRouter, path: str) -> APIRoute:
    return next(route for route in router.routes if isinstance(route, APIRoute) and route.path == path)


def create_app(engine: Engine | None = None, read_engine: Engine | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        app.state.fieldnav.dispose()  # every pool: the requests', the replica's, the packs' own

    app = FieldnavAPI(
        title="fieldnav",
        version=__version__,
        summary="Nearest services, offline maps and 211 handoffs for field workers.",
        default_response_class=CompactJSONResponse,
        lifespan=lifespan,
        # Every route passes the access policy table (service/api/policies.py).
        dependencies=[Depends(authorize)],
    )
    if engine is None:
        from service.platform.db import make_engine

        engine = make_engine()
    if read_engine is None:
        from service.platform.db import make_read_engine

        read_engine = make_read_engine(engine)
    app.state.fieldnav = AppState.build(engine, read_engine)
    install_error_handlers(app)
    app.include_router(meta.router)
    app.include_router(me.router)
    app.include_router(devices.router)  # device-bound refresh (service/auth/devices.py)
    app.include_router(services.router)
    app.include_router(places.router)  # places by name, postal code or address (service/places/)
    app.include_router(hsds.router)  # the HSDS 3.0 API (service/hsds/)
    app.include_router(capacity.router)  # live counts (service/capacity/)
    app.include_router(reports.router)  # wrong data reported from the field (service/reports/)
    app.include_router(shares.router)  # lists of services left with the person (service/shares/)
    app.include_router(tiles.router)
    app.include_router(offline.router)
    app.include_router(sync.router)
    app.include_router(handoffs.router)
    app.include_router(navigator.router)
    app.include_router(stats.router)
    app.include_router(admin_providers.router)
    app.include_router(sources.router)  # HSDS API pulls (service/importer/sources.py)
    app.include_router(basemap.router)
    app.include_router(app_static.router)  # the field client (web/) at /app/
    # Innermost: plain tile and nearest requests skip the router, with every middleware below
    # still applied (service/api/fast_path.py).
    app.add_middleware(TileFastPath, route=_operation(tiles.router, TILE_PATH))
    app.add_middleware(NearestFastPath, route=_operation(services.router, NEAREST_PATH))
    # NUL in the path or in a JSON body's strings (PostgreSQL cannot store it): refused for every route.
    app.add_middleware(RequestTextCheck)
    # Phones on a weak signal: compress anything worth compressing.
    # Not the pack archives: their tiles are gzipped already, and Range needs the raw bytes.
    app.add_middleware(
        GZipMiddleware,
        minimum_size=1024,
        exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/vnd.pmtiles"),
    )
    limits = limit_settings()
    origins = [o.strip() for o in limits.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "DPoP", "Idempotency-Key", "If-None-Match"],
            expose_headers=["ETag", "Retry-After", "Location"],
            max_age=600,
        )
    app.add_middleware(BodySizeLimit, max_body_bytes=limits.max_body_bytes)
    app.add_middleware(QueryStringCheck)
    app.add_middleware(SecurityHeaders)  # even a 413 carries them
    app.add_middleware(HeadAsGet)  # every layer below (and the fast paths) answers a HEAD as its GET
    app.add_middleware(RequestObservation)  # outermost: every request is counted and logged
    return app
