"""The data version, read from the database and reused for a short TTL.

Every worker process reads it itself, so after an import each worker sees the new
version within ``data_version_ttl_s``: caches keyed by it never serve old data for longer.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine

from service.db import read_data_version


class DataVersion:
    def __init__(self, engine: Engine, ttl_s: float):
        self._engine, self._ttl_s = engine, ttl_s
        self._value: int | None = None
        self._read_at_s = float("-inf")
        self._lock = threading.Lock()

    def current(self) -> int:
        now_s = time.monotonic()
        if self._value is not None and now_s - self._read_at_s < self._ttl_s:
            return self._value
        with self._lock:
            if self._value is None or time.monotonic() - self._read_at_s >= self._ttl_s:
                with self._engine.connect() as connection:
                    self._value = read_data_version(connection)
                self._read_at_s = time.monotonic()
            return self._value
