"""This worker's rendered share pages (service/shares/render.py), bounded in bytes.

Keyed by (the token's hash, the data version, the half hour): a page shows the cards as they
are and today's hours, so a new data version or a new half hour (every time zone's midnight
falls on one) makes a new page. The entry keeps the share's expiry, so a cached page is never
served after it: an expired link answers 410 from memory too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from service.platform.byte_cache import ByteCache
from service.platform.observability.metrics import record_cache

PAGE_CACHE_BYTES = 8 * 1024 * 1024
ENTRY_OVERHEAD_BYTES = 300
SLOT_S = 1800  # the half hour


@dataclass(frozen=True)
class CachedPage:
    body: bytes
    # The same, compressed once: the app's GZip middleware would compress it on every
    # request (a quarter of the page's time from the cache, bench/RESULTS.md).
    gzipped: bytes
    etag: str
    language: str
    expires_at_s: float  # Unix seconds


class SharePageCache:
    def __init__(self, max_bytes: int = PAGE_CACHE_BYTES):
        self._cache: ByteCache[tuple, CachedPage] = ByteCache(
            max_bytes,
            lambda page: len(page.body) + len(page.gzipped) + ENTRY_OVERHEAD_BYTES,
            on_lookup=partial(record_cache, "share_page"),
        )

    @staticmethod
    def key(token_sha256: bytes, version: int, now_s: float) -> tuple:
        return (token_sha256, version, int(now_s // SLOT_S))

    def get(self, key: tuple) -> CachedPage | None:
        return self._cache.get(key)

    def put(self, key: tuple, page: CachedPage) -> None:
        self._cache.put(key, page)
