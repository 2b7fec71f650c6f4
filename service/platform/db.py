"""Where the database is, and engines to reach it.

``FIELDNAV_DATABASE_URL`` wins; without it fieldnav uses its private cluster under
``FIELDNAV_HOME/db`` (see ``service.platform.embedded_db``), which ``fieldnav db start`` runs.

Two roles (service/platform/grants.py): the application role (``database_url``: the API, the worker,
purge and the other day-to-day commands) and the migration role that owns the schema
(``migration_database_url``: migrations, imports, demo data, centres).
``FIELDNAV_MIGRATION_DATABASE_URL`` names the latter; without it, on a server of your own,
both are ``FIELDNAV_DATABASE_URL``'s role, as before.

Every engine hides statement parameters from its errors (``hide_parameters``): they hold
handoff ciphertexts, H3 cells and subjects, and errors end up in logs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import orjson
import psycopg
from psycopg.types.json import set_json_loads
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from service.platform.settings import database_settings, path_settings

# Session settings of every connection:
# - JIT off: our statements are short OLTP queries whose estimated cost can still pass
#   jit_above_cost (a z10 tile over 15,000 sites), and compiling them costs more (up to 700 ms)
#   than running them.
# - No parallel workers: forking two processes per statement costs more than these
#   statements do, and they compete with the requests for the same cores.
SESSION_OPTIONS = "-c jit=off -c max_parallel_workers_per_gather=0"

# jsonb columns (service cards: every nearest, detail, sync and pack row) are parsed with
# orjson, several times faster than the standard library's json that psycopg uses by default.
set_json_loads(orjson.loads)

# A pooled connection idle for longer than this is pinged before it is handed out. One that
# was returned a moment ago is not: pinging every checkout (pool_pre_ping) was a round trip
# per request, as many as the tile or nearest statement itself. A connection broken within this
# window fails its request (503) and the pool is renewed, as pre-ping would have done.
PING_AFTER_IDLE_S = 2.0

# What "the database is unreachable" looks like from SQLAlchemy: refused or dropped
# connections, and no free connection in the pool within its timeout.
DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeoutError)


def embedded_cluster():
    from service.platform.embedded_db import EmbeddedCluster

    return EmbeddedCluster(path_settings().home / "db")


_NO_DATABASE = "No database: set FIELDNAV_DATABASE_URL, or run `fieldnav db start` to start fieldnav's own PostgreSQL."


def database_url() -> str:
    """The application role's URL: what the API, the worker and purge connect as."""
    configured = database_settings().database_url
    if configured:
        return normalise_url(configured)
    url = embedded_cluster().app_url()
    if url is None:
        raise RuntimeError(_NO_DATABASE)
    return url


def migration_database_url() -> str:
    """The migration role's URL (owner of the schema): migrations, imports, demo data, centres."""
    settings = database_settings()
    if settings.migration_database_url:
        if not settings.database_url:
            raise RuntimeError(
                "FIELDNAV_MIGRATION_DATABASE_URL is set without FIELDNAV_DATABASE_URL: "
                "set both (the application's role and the schema owner's) or neither"
            )
        return normalise_url(settings.migration_database_url)
    if settings.database_url:
        return normalise_url(settings.database_url)
    url = embedded_cluster().url()
    if url is None:
        raise RuntimeError(_NO_DATABASE)
    return url


def app_role() -> str | None:
    """The role `fieldnav db migrate` grants the application's privileges to: the user of
    the application URL when it is not the migration URL's; None when both are one role."""
    app = make_url(database_url()).username
    owner = make_url(migration_database_url()).username
    return app if app and app != owner else None


def normalise_url(url: str) -> str:
    """Accept plain libpq-style URLs and point SQLAlchemy at psycopg 3."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("FIELDNAV_DATABASE_URL must be a postgresql:// URL")


def make_engine(url: str | None = None, *, statement_timeout_ms: int | None = None, **overrides) -> Engine:
    """An engine for the API: every statement is capped (FIELDNAV_STATEMENT_TIMEOUT_MS)
    so no request can hang. Jobs pass ``statement_timeout_ms=0`` (no cap)."""
    settings = database_settings()
    timeout_ms = settings.statement_timeout_ms if statement_timeout_ms is None else statement_timeout_ms
    options: dict[str, Any] = {
        "pool_size": settings.pool_size,
        "max_overflow": 0,
        "pool_timeout": settings.pool_timeout_s,
        "pool_pre_ping": False,  # _ping_when_idle instead
        "hide_parameters": True,  # errors (and so logs) never carry the values of a statement
        "connect_args": {
            "options": f"{SESSION_OPTIONS} -c statement_timeout={timeout_ms}",
            "connect_timeout": 5,
            "application_name": "fieldnav",
        },
    }
    options.update(overrides)
    engine = create_engine(url or database_url(), **options)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Ping a connection at checkout when it has been idle for PING_AFTER_IDLE_S; a failed ping
    makes the pool discard it and connect afresh (SQLAlchemy retries the checkout)."""

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection, record) -> None:
        record.info["idle_since_s"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection, record, proxy) -> None:
        idle_since_s = record.info.get("idle_since_s")
        if idle_since_s is None or time.monotonic() - idle_since_s <= PING_AFTER_IDLE_S:
            return  # new, or just returned
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # any failure: this connection is not to be used
            raise DisconnectionError(str(error)) from error


@lru_cache(maxsize=1)
def default_engine() -> Engine:
    """The engine of command-line jobs run as the application role (purge, worker, token
    revocation, key rotation, audit export): no statement cap."""
    return make_engine(statement_timeout_ms=0)


@lru_cache(maxsize=1)
def migration_engine() -> Engine:
    """The engine of jobs run as the migration role (imports, demo data, centres, rebuilds):
    a large import may rightly run for minutes, so no statement cap."""
    return make_engine(migration_database_url(), statement_timeout_ms=0)


def make_read_engine(primary: Engine) -> Engine:
    """The engine for read-only queries: the replica when one is configured."""
    read_url = database_settings().database_read_url
    if not read_url:
        return primary
    return make_engine(
        normalise_url(read_url),
        connect_args={
            "options": (
                f"{SESSION_OPTIONS} -c statement_timeout={database_settings().statement_timeout_ms} "
                "-c default_transaction_read_only=on"
            ),
            "connect_timeout": 5,
            "application_name": "fieldnav-read",
        },
    )


def driver_connection(connection: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under ``connection``: for COPY and psycopg's own settings.

    SQLAlchemy types it as optional because a pool record that was invalidated holds none;
    ``Connection.connection`` revalidates before it answers, so an open connection has one."""
    driver = connection.connection.driver_connection
    if driver is None:
        raise RuntimeError("the SQLAlchemy connection has no psycopg connection (closed or invalidated)")
    return driver


def read_data_version(connection) -> int:
    return connection.execute(text("SELECT version FROM data_version WHERE id = 1")).scalar_one()


@contextmanager
def read_connection(read_engine: Engine, primary: Engine, *, min_version: int | None = None) -> Iterator[Connection]:
    """A connection for read-only work: the replica when it is reachable and (for answers
    cached under a data version) has replayed at least ``min_version``; else the primary.
    A cache keyed by version N therefore never holds data older than N.

    The connection is in autocommit: each read is its own statement, and no transaction is
    left to roll back when the pool takes the connection back. A rollback would make psycopg
    drop its prepared statements, so every request would plan its query afresh."""
    if read_engine is not primary:
        try:
            connection = read_engine.connect()
        except DATABASE_DOWN:
            connection = None
        if connection is not None:
            with connection:
                _autocommit(connection)
                if min_version is None or read_data_version(connection) >= min_version:
                    yield connection
                    return
    with primary.connect() as connection:
        yield _autocommit(connection)


def _autocommit(connection: Connection) -> Connection:
    return connection.execution_options(isolation_level="AUTOCOMMIT")
