"""Per-principal rate limits shared by every process, without a database write per request.

Counts live in the database (UNLOGGED table ``rate_limit_window``, fixed windows) so all
workers and replicas share them. Each process batches its hits and adds them to the shared
count every ``batch`` hits, or on every hit once the caller is near the limit, so the limit
stays exact where it matters and costs one write per ~limit/20 requests elsewhere. If the
database is unreachable the limiter fails open: serving cached tiles during an outage
matters more than counting. A pool with no free connection is not an outage (the database
is up, every connection busy): then ``hit`` raises ``PoolTimeoutError``, its hits are kept
for the next write, and the caller refuses the request (fail closed). Letting requests
through uncounted exactly when the server is busiest is what a flood wants (issue 15, 2).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from service.platform.db import DATABASE_DOWN

log = logging.getLogger("fieldnav.rate_limit")


@dataclass
class _Window:
    start_s: int
    shared_hits: int = 0  # the total last read from the database
    pending_hits: int = 0  # ours, not yet added to it


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: int


class RateLimiter:
    def __init__(self, engine: Engine, window_s: int):
        self._engine, self._window_s = engine, window_s
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def _clock(self) -> tuple[int, int]:
        """(start of the current window, seconds until the next), both whole seconds."""
        now_s = time.time()
        start_s = int(now_s // self._window_s * self._window_s)
        return start_s, max(1, math.ceil(start_s + self._window_s - now_s))

    def _window(self, bucket: str, start_s: int) -> _Window:
        # (Called with the lock held.)
        window = self._windows.get(bucket)
        if window is None or window.start_s != start_s:
            window = self._windows[bucket] = _Window(start_s)
            self._forget_old(start_s)
        return window

    @staticmethod
    def _must_sync(window: _Window, limit: int) -> bool:
        batch = max(1, limit // 20)
        return window.pending_hits >= batch or window.shared_hits + window.pending_hits >= limit - batch

    def try_hit(self, bucket: str, limit: int) -> Verdict | None:
        """Count the hit and answer without the database, or None (nothing counted) when this
        hit must be added to the shared count: then call ``hit``, which may block."""
        start_s, retry_after_s = self._clock()
        with self._lock:
            window = self._window(bucket, start_s)
            window.pending_hits += 1
            if self._must_sync(window, limit):
                window.pending_hits -= 1
                return None
            return Verdict(window.shared_hits + window.pending_hits <= limit, retry_after_s)

    def hit(self, bucket: str, limit: int) -> Verdict:
        start_s, retry_after_s = self._clock()
        with self._lock:
            window = self._window(bucket, start_s)
            window.pending_hits += 1
            estimate = window.shared_hits + window.pending_hits
            must_sync = self._must_sync(window, limit)
            pending = window.pending_hits if must_sync else 0
            if must_sync:
                window.pending_hits = 0
        if must_sync:
            try:
                shared = self._add(bucket, start_s, pending)
            except PoolTimeoutError:
                with self._lock:  # counted at the next write (this window's, if it still is)
                    if self._windows.get(bucket) is window:
                        window.pending_hits += pending
                raise
            except DATABASE_DOWN:
                log.warning("rate limiter: database unreachable, not limiting")
                return Verdict(True, retry_after_s)
            with self._lock:
                window.shared_hits = max(window.shared_hits, shared)
                estimate = window.shared_hits + window.pending_hits
        return Verdict(estimate <= limit, retry_after_s)

    def _forget_old(self, current_start_s: int) -> None:
        for bucket in [b for b, w in self._windows.items() if w.start_s < current_start_s]:
            del self._windows[bucket]

    def _add(self, bucket: str, start_s: int, hits: int) -> int:
        with self._engine.begin() as connection:
            total = connection.execute(
                text("""
                INSERT INTO rate_limit_window (bucket, window_start, hits) VALUES (:bucket, to_timestamp(:start_s), :hits)
                ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limit_window.hits + EXCLUDED.hits
                RETURNING hits
            """),
                {"bucket": bucket, "start_s": start_s, "hits": hits},
            ).scalar_one()
            if total == hits:  # first write of this window: forget this caller's finished ones
                connection.execute(
                    text(
                        "DELETE FROM rate_limit_window WHERE bucket = :bucket AND window_start < to_timestamp(:start_s)"
                    ),
                    {"bucket": bucket, "start_s": start_s},
                )
        return total
