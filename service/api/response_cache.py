"""A per-process cache of rendered JSON bodies, bounded in bytes and keyed by data version,
so service details keep being served while the database is unreachable."""

from __future__ import annotations

from collections.abc import Hashable
from functools import partial

from service.platform.byte_cache import ByteCache
from service.platform.observability.metrics import record_cache

ENTRY_OVERHEAD_BYTES = 200


def _body_size(body: bytes) -> int:
    return len(body) + ENTRY_OVERHEAD_BYTES


class BodyCache:
    """Bodies by key in a ByteCache whose lookups are counted in the metrics under ``name``;
    ``max_bytes`` 0 turns it off (no lookups counted)."""

    def __init__(self, name: str, max_bytes: int):
        self._enabled = max_bytes > 0
        self._cache: ByteCache[Hashable, bytes] = ByteCache(
            max_bytes, _body_size, on_lookup=partial(record_cache, name)
        )

    def get(self, key: Hashable) -> bytes | None:
        return self._cache.get(key) if self._enabled else None

    def put(self, key: Hashable, body: bytes) -> None:
        if self._enabled:
            self._cache.put(key, body)
