"""What one app (one worker process) keeps for its whole life, built once by ``create_app``
(service/api/app.py) and stored on ``app.state.fieldnav``. Requests read it through the small
dependencies of service/api/dependencies.py; nothing here is created on first use."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from service.api.data_version import DataVersion, LastKnownVersion
from service.api.rate_limit import RateLimiter
from service.api.response_cache import BodyCache
from service.api.share_pages import SharePageCache
from service.auth.revocation import RevocationCheck
from service.auth.verified_tokens import VerifiedTokens
from service.maps import tiles
from service.maps.packs import pack_dir
from service.maps.packs.queue import PackService, make_pack_engine
from service.platform.db import read_connection, read_data_version
from service.platform.settings import api_settings, auth_settings, limit_settings, pack_settings, tile_settings

# Rendered service details kept per worker (bytes), keyed by data version.
DETAIL_CACHE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class TileContext:
    """What a tile request needs from the app, resolved as one dependency: FastAPI solves each
    dependency of each request anew, and for a cached tile solving four took longer than the
    endpoint itself (py-spy, bench/README.md)."""

    engine: Engine
    read_engine: Engine
    cache: tiles.TileCache  # this worker's, bounded by FIELDNAV_TILES_CACHE_BYTES
    known_version: LastKnownVersion


class TileBoundsMemo:
    """The bounds of the public locations given in the last TileJSON, with the data version
    they were read at: read again only when the version changes, and still known while the
    database is unreachable. (One tuple, replaced whole: no lock needed.)"""

    def __init__(self) -> None:
        self._last: tuple[int, tuple[float, ...]] | None = None

    def at(self, version: int) -> tuple[float, ...] | None:
        """The bounds read at ``version``, else None."""
        last = self._last
        return last[1] if last is not None and last[0] == version else None

    def latest(self) -> tuple[float, ...] | None:
        """The bounds last read, whatever their version; None before the first."""
        last = self._last
        return last[1] if last is not None else None

    def keep(self, version: int, bounds: tuple[float, ...]) -> None:
        self._last = (version, bounds)


@dataclass(frozen=True)
class AppState:
    """Every long-lived part of one app: its engines, the data version and this worker's memory
    of it, the tile context and caches, the access checks' memories, and the packs' own pool,
    stores and build queue."""

    engine: Engine
    read_engine: Engine  # the replica when configured, else ``engine``
    data_version: DataVersion
    # This worker's view of the data version that remembers the last one read, so cached
    # responses (tiles, service details) can still be served while the database is down.
    version_tracker: LastKnownVersion
    tile_context: TileContext
    tile_bounds: TileBoundsMemo
    detail_cache: BodyCache
    share_pages: SharePageCache
    revocations: RevocationCheck
    verified_tokens: VerifiedTokens
    rate_limiter: RateLimiter
    # The packs' own engine (not the requests' pool), stores and build queue (service/maps/packs/queue.py).
    packs: PackService

    @classmethod
    def build(cls, engine: Engine, read_engine: Engine) -> AppState:
        """The state of an app over these engines. Nothing connects to the database here."""
        data_version = DataVersion(engine, api_settings().data_version_ttl_s)

        def read_fresh() -> int:
            with read_connection(engine, engine) as connection:  # autocommit: see read_connection
                return read_data_version(connection)

        version_tracker = LastKnownVersion(data_version.current, read_fresh, cached=data_version.cached)
        settings = pack_settings()
        return cls(
            engine=engine,
            read_engine=read_engine,
            data_version=data_version,
            version_tracker=version_tracker,
            tile_context=TileContext(
                engine, read_engine, tiles.TileCache(tile_settings().cache_bytes), version_tracker
            ),
            tile_bounds=TileBoundsMemo(),
            detail_cache=BodyCache("service_detail", DETAIL_CACHE_BYTES),
            share_pages=SharePageCache(),
            revocations=RevocationCheck(engine, auth_settings().revocation_cache_s),
            verified_tokens=VerifiedTokens(auth_settings().revocation_cache_s),
            rate_limiter=RateLimiter(engine, limit_settings().window_s),
            packs=PackService(make_pack_engine(engine.url), settings, pack_dir(settings)),
        )

    def dispose(self) -> None:
        """Close every pool (the app's lifespan, at shutdown)."""
        self.engine.dispose()
        self.packs.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
