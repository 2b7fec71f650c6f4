"""The offline pack build queue: builds never starve the rest of the API (issue 15, 2).

A build renders thousands of tiles and holds two database connections for as long as that
takes (build.py, "Concurrency"). Unbounded, eight concurrent builds took every
connection of a worker's pool and handoffs answered 503. So:

Bulkhead
    Builds, and reads of packs stored in the database (storage.py), use the
    packs' own small pool (``FIELDNAV_PACKS_POOL_SIZE``, default 2 x builds + 2 per worker),
    never the requests' pool: nearest, handoffs and the access checks keep their
    connections whatever packs do. Its sessions are named ``fieldnav-packs``.

Per worker: a bounded queue
    At most ``FIELDNAV_PACKS_MAX_CONCURRENT_BUILDS`` builds run in one worker process;
    ``FIELDNAV_PACKS_QUEUE_SIZE`` more may wait, each at most ``FIELDNAV_PACKS_QUEUE_WAIT_S``.
    A request over that gets 503 ``pack-builds-busy`` with ``Retry-After`` at once. Waiting
    happens in the event loop: a queued request holds no thread and no connection. A request
    for a pack already built (200) never queues.

Database-wide: slots
    ``FIELDNAV_PACKS_MAX_CONCURRENT_BUILDS_TOTAL`` caps builds across every worker and host
    sharing the database (0: no cap), so adding workers does not multiply the load builds put
    on PostgreSQL: a build takes one of that many transaction-level advisory locks
    (``pg_try_advisory_xact_lock(SLOT_LOCK_CLASS, slot)``) on its guard connection, polling
    until its queue wait runs out (then 503 ``pack-builds-busy``). The lock goes with the
    transaction, so a build that dies frees its slot.

Deadline
    A build that runs longer than ``FIELDNAV_PACKS_BUILD_TIMEOUT_S`` stops before its next
    statement: its files are removed, nothing is recorded, and the caller gets 503
    ``pack-build-timeout``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from service.maps.packs.storage import PackStores
from service.platform.problem_texts import fr_number
from service.platform.problems import Problem
from service.platform.settings import PackSettings, database_settings

log = logging.getLogger("fieldnav.pack_queue")

# Class id of the database-wide build slots (two-int advisory locks, a key space apart from
# the single-bigint locks on request keys): "fnpk".
SLOT_LOCK_CLASS = 0x666E706B
SLOT_POLL_S = 0.25
RETRY_AFTER_S = 15


def busy(retry_after_s: int = RETRY_AFTER_S) -> Problem:
    return Problem(
        503,
        "pack-builds-busy",
        f"The server is building as many offline packs as it can; try again in {retry_after_s} s. "
        "Packs already built are still served.",
        title="Pack builds busy",
        detail_fr=f"Le serveur prépare déjà autant de zones hors ligne qu’il le peut : réessayez dans "
        f"{fr_number(retry_after_s)} s. Les zones déjà prêtes restent disponibles.",
        headers={"Retry-After": str(retry_after_s)},
    )


def too_slow(timeout_s: float) -> Problem:
    return Problem(
        503,
        "pack-build-timeout",
        f"Building this pack took longer than {timeout_s:g} s and was stopped; try again later, or ask "
        "for a smaller area or a lower max_zoom.",
        title="Pack build too slow",
        detail_fr=f"La préparation de cette zone hors ligne a pris plus de {fr_number(timeout_s)} s et a été "
        "arrêtée : réessayez plus tard, ou choisissez une zone plus petite ou un zoom maximal plus bas.",
        headers={"Retry-After": str(RETRY_AFTER_S * 4)},
    )


# --- per worker: the queue ---------------------------------------------------------------------


class BuildQueue:
    """At most ``max_running`` builds at once in this process, at most ``max_waiting`` more
    waiting, each for at most ``wait_s``. Used from the event loop."""

    def __init__(self, max_running: int, max_waiting: int, wait_s: float):
        self.max_running, self.max_waiting, self.wait_s = max_running, max_waiting, wait_s
        self._semaphore = asyncio.Semaphore(max_running)
        self.waiting = 0
        self.running = 0

    def retry_after_s(self) -> int:
        return RETRY_AFTER_S

    @asynccontextmanager
    async def slot(self):
        """Hold a build slot of this process; raises Problem 503 pack-builds-busy when the
        queue is full or the wait runs out."""
        if self._semaphore.locked() and self.waiting >= self.max_waiting:
            raise busy(self.retry_after_s())
        self.waiting += 1
        try:
            async with asyncio.timeout(self.wait_s):
                await self._semaphore.acquire()
        except TimeoutError:
            raise busy(self.retry_after_s()) from None
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            self._semaphore.release()


# --- database-wide: slots ----------------------------------------------------------------------


def take_database_slot(guard: Connection, total: int, wait_until_s: float) -> int | None:
    """Take one of ``total`` build slots for the guard's transaction, polling until
    ``wait_until_s`` (time.monotonic()); the slot number, or None when there is no cap.
    Raises Problem 503 pack-builds-busy when none frees up in time."""
    if total <= 0:
        return None
    first = random.randrange(total)  # spread the builds over the slots
    while True:
        for i in range(total):
            slot = (first + i) % total
            if guard.execute(
                text("SELECT pg_try_advisory_xact_lock(CAST(:cls AS integer), CAST(:slot AS integer))"),
                {"cls": SLOT_LOCK_CLASS, "slot": slot},
            ).scalar_one():
                return slot
        if time.monotonic() + SLOT_POLL_S > wait_until_s:
            raise busy()
        time.sleep(SLOT_POLL_S * random.uniform(0.5, 1.5))


def builds_running(connection: Connection) -> int:
    """Builds holding a database-wide slot now (for tests and diagnosis). Advisory locks are
    per database: those of another database on the same server (another test run) are not ours."""
    return connection.execute(
        text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = :cls "
            "AND objsubid = 2 AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"cls": SLOT_LOCK_CLASS},
    ).scalar_one()


# --- the deadline --------------------------------------------------------------------------------


class DeadlineConnection:
    """A connection that refuses to start a statement after ``deadline_s`` (time.monotonic()):
    the build reading through it stops there (Problem 503 pack-build-timeout)."""

    def __init__(self, connection: Connection, deadline_s: float, timeout_s: float):
        self._connection, self._deadline_s, self._timeout_s = connection, deadline_s, timeout_s

    def _check(self) -> None:
        if time.monotonic() > self._deadline_s:
            raise too_slow(self._timeout_s)

    def execute(self, *args, **kwargs):
        self._check()
        return self._connection.execute(*args, **kwargs)

    def exec_driver_sql(self, *args, **kwargs):
        self._check()
        return self._connection.exec_driver_sql(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._connection, name)


# --- one worker's pack machinery -----------------------------------------------------------------


def make_pack_engine(url) -> Engine:
    """The packs' own pool (see the module docstring), sessions named fieldnav-packs."""
    from service.platform.db import SESSION_OPTIONS, make_engine

    settings = PackSettings()
    if settings.pool_size is not None and settings.pool_size < 2 * settings.max_concurrent_builds + 1:
        log.warning(
            "FIELDNAV_PACKS_POOL_SIZE=%s is below 2 x FIELDNAV_PACKS_MAX_CONCURRENT_BUILDS + 1: builds will "
            "wait for connections",
            settings.pool_size,
        )
    timeout_ms = database_settings().statement_timeout_ms
    return make_engine(
        url,
        pool_size=settings.pack_pool_size(),
        connect_args={
            "options": f"{SESSION_OPTIONS} -c statement_timeout={timeout_ms}",
            "connect_timeout": 5,
            "application_name": "fieldnav-packs",
        },
    )


class PackService:
    """What one worker process uses for packs: their engine, stores and build queue."""

    def __init__(self, engine: Engine, settings: PackSettings, directory: Path):
        self.engine, self.settings = engine, settings
        self.stores = PackStores(settings.storage, directory, engine)
        self.queue = BuildQueue(settings.max_concurrent_builds, settings.queue_size, settings.queue_wait_s)

    def wait_until_s(self, queued_at_s: float) -> float:
        return queued_at_s + self.settings.queue_wait_s

    def deadline_s(self, started_at_s: float) -> float:
        return (
            started_at_s + self.settings.build_timeout_s if math.isfinite(self.settings.build_timeout_s) else math.inf
        )

    def dispose(self) -> None:
        self.engine.dispose()
