"""An in-process LRU cache bounded in bytes, safe across threads (docs/design.md: caches are
in-process, bounded in bytes). The tile cache (service/maps/tiles.py) and the cache of
rendered JSON bodies (service/api/response_cache.py) are both one of these."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

import cachetools

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ByteCache(Generic[K, V]):
    """Least recently used entries go first once ``size_of`` of all entries would pass
    ``max_bytes``. An entry larger than the whole cache is not kept; ``max_bytes`` 0 keeps
    nothing. ``on_lookup(hit)`` is called after every ``get`` (outside the lock), e.g. to
    count hits in the metrics."""

    def __init__(self, max_bytes: int, size_of: Callable[[V], int], *, on_lookup: Callable[[bool], None] | None = None):
        self.max_bytes = max(0, max_bytes)
        self._size_of = size_of
        self._on_lookup = on_lookup
        # cachetools refuses maxsize 0 for nothing, but put() never hands it an entry then.
        self._lru: cachetools.LRUCache = cachetools.LRUCache(maxsize=max(1, self.max_bytes), getsizeof=size_of)
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._lru.get(key)
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
        if self._on_lookup is not None:
            self._on_lookup(value is not None)
        return value

    def put(self, key: K, value: V) -> bool:
        """Keep ``value`` (evicting the least recently used entries to make room); False
        when it is larger than the whole cache."""
        if self._size_of(value) > self.max_bytes:
            return False
        with self._lock:
            self._lru[key] = value
        return True

    def discard(self, stale: Callable[[K], bool]) -> int:
        """Drop every entry whose key is ``stale``; returns how many were dropped."""
        with self._lock:
            keys = [key for key in self._lru if stale(key)]
            for key in keys:
                del self._lru[key]
        return len(keys)

    def __iter__(self) -> Iterator[K]:
        """The keys, as they were when iteration began (other threads may change the cache)."""
        with self._lock:
            return iter(list(self._lru))

    def values(self) -> list[V]:
        with self._lock:
            return list(self._lru.values())

    @property
    def bytes_used(self) -> int:
        return int(self._lru.currsize)

    def __len__(self) -> int:
        return len(self._lru)
