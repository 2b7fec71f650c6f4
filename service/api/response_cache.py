"""A per-process cache of rendered JSON bodies, bounded in bytes and keyed by data version,
so service details keep being served while the database is unreachable."""

from __future__ import annotations

import threading
from collections.abc import Hashable

import cachetools

from service.platform.observability.metrics import record_cache

ENTRY_OVERHEAD_BYTES = 200


class BodyCache:
    def __init__(self, name: str, max_bytes: int):
        self._name = name
        self._cache = cachetools.LRUCache(maxsize=max(1, max_bytes), getsizeof=lambda body: len(body) + ENTRY_OVERHEAD_BYTES)
        self._enabled = max_bytes > 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        if not self._enabled:
            return None
        with self._lock:
            body = self._cache.get(key)
        record_cache(self._name, body is not None)
        return body

    def put(self, key: Hashable, body: bytes) -> None:
        if not self._enabled or len(body) + ENTRY_OVERHEAD_BYTES > self._cache.maxsize:
            return
        with self._lock:
            self._cache[key] = body
