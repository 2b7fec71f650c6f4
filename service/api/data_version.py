"""The data version, read from the database and reused for a short TTL.

Every worker process reads it itself, so after an import each worker sees the new
version within ``data_version_ttl_s``: caches keyed by it never serve old data for longer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine

from service.platform.db import DATABASE_DOWN, read_connection, read_data_version


class DataVersion:
    def __init__(self, engine: Engine, ttl_s: float):
        self._engine, self._ttl_s = engine, ttl_s
        self._value: int | None = None
        self._read_at_s = float("-inf")
        self._lock = threading.Lock()

    def cached(self) -> int | None:
        """The version while it is fresh (younger than the TTL), else None; never blocks."""
        if self._value is not None and time.monotonic() - self._read_at_s < self._ttl_s:
            return self._value
        return None

    def current(self) -> int:
        now_s = time.monotonic()
        if self._value is not None and now_s - self._read_at_s < self._ttl_s:
            return self._value
        with self._lock:
            if self._value is None or time.monotonic() - self._read_at_s >= self._ttl_s:
                with read_connection(self._engine, self._engine) as connection:  # autocommit: see read_connection
                    self._value = read_data_version(connection)
                self._read_at_s = time.monotonic()
            return self._value


class VersionUnknown(Exception):
    """The database cannot be read and this worker has never known a data version."""


class LastKnownVersion:
    """The data version tiles are keyed by, read through ``read`` (the app's DataVersion, TTL
    cached), remembering the last value so tiles can be served from the cache while the
    database is unreachable.

    - ``at_least``: a client asking for a version newer than this worker knows (a versioned
      URL from a newer TileJSON) makes it re-read the version at once with ``read_fresh``,
      at most once per ``refresh_interval_s``, so a stale worker catches up immediately.
    - After a failed read, the database is not asked again for ``retry_after_s``, and then by
      one request at a time: the others get the last known version at once instead of
      queueing on a dead connection.

    Data versions only go up (each import increments the single row), so the largest value
    seen is the current one.
    """

    def __init__(
        self,
        read: Callable[[], int],
        read_fresh: Callable[[], int],
        *,
        cached: Callable[[], int | None] = lambda: None,
        refresh_interval_s: float = 0.1,
        retry_after_s: float = 1.0,
    ):
        self._read, self._read_fresh, self._cached = read, read_fresh, cached
        self._refresh_interval_s, self._retry_after_s = refresh_interval_s, retry_after_s
        self._known: int | None = None
        self._failed_at_s: float | None = None  # set while the database is unreachable
        self._refreshed_at_s = float("-inf")
        self._lock = threading.Lock()
        self._probe = threading.Lock()

    @property
    def last_known(self) -> int | None:
        return self._known

    def get(self, at_least: int | None = None) -> tuple[int, bool]:
        """(version, live): live is False when the database could not be read and the
        version is the last one this worker knew. Raises VersionUnknown if there is none."""
        failed_at_s, known = self._failed_at_s, self._known
        if failed_at_s is not None and known is not None:
            if time.monotonic() - failed_at_s < self._retry_after_s or not self._probe.acquire(blocking=False):
                return known, False
            try:
                return self._read_now(at_least)
            finally:
                self._probe.release()
        return self._read_now(at_least)

    def peek(self, at_least: int | None = None) -> tuple[int, bool] | None:
        """What ``get`` would answer when that needs no database read, else None. For the
        event loop: a cached tile is then answered without a hop to a worker thread."""
        failed_at_s, known = self._failed_at_s, self._known
        if failed_at_s is not None:
            if known is not None and time.monotonic() - failed_at_s < self._retry_after_s:
                return known, False
            return None
        version = self._cached()
        if version is None or (at_least is not None and at_least > max(version, known or version)):
            return None
        with self._lock:
            self._known = version if self._known is None else max(self._known, version)
            return self._known, True

    def _read_now(self, at_least: int | None) -> tuple[int, bool]:
        try:
            version = self._read()
            if at_least is not None and at_least > max(version, self._known or version):
                with self._lock:
                    if time.monotonic() - self._refreshed_at_s >= self._refresh_interval_s:
                        self._refreshed_at_s = time.monotonic()
                        version = max(version, self._read_fresh())
        except DATABASE_DOWN:
            self._failed_at_s = time.monotonic()
            if self._known is None:
                raise VersionUnknown from None
            return self._known, False
        with self._lock:
            self._failed_at_s = None
            self._known = version if self._known is None else max(self._known, version)
            return self._known, True
