"""Long statements run with PostgreSQL's own ``$n`` placeholders, on a raw psycopg cursor.

psycopg turns ``%(name)s`` placeholders into ``$n`` on every execution, and remembers the
result only for queries up to 4 KB (``psycopg._queries.MAX_CACHED_STATEMENT_LENGTH``). The
nearest statements are 3 to 9 KB: that parsing took 0.4 ms of a 1.7 ms call at 100k
services (cProfile, bench/README.md, issue 21), and SQLAlchemy's execution around the cursor
another 0.17 ms. Compiled once to ``$n`` by SQLAlchemy and run by a ``psycopg.RawCursor`` on
the connection's psycopg connection, it is sent as is. Its errors are raised as SQLAlchemy
would raise them (``DBAPIError.instance``: a timeout or a lost connection is a 503 like any
other statement's), and a lost connection invalidates the pool's connections, as SQLAlchemy's
own handling does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import psycopg
from sqlalchemy import Connection, TextClause
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.exc import DBAPIError

from service.platform.db import driver_connection

_NUMBERED = PGDialect_psycopg(paramstyle="numeric_dollar")


@dataclass(frozen=True)
class NumberedStatement:
    sql: str  # with $1, $2...: a name used several times is one number
    names: tuple[str, ...]  # the parameter of each number, in order

    @classmethod
    def of(cls, clause: TextClause) -> NumberedStatement:
        compiled = clause.compile(dialect=_NUMBERED)
        return cls(compiled.string, tuple(compiled.positiontup or ()))

    def values(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(params[name] for name in self.names)


@lru_cache(maxsize=1536)  # as many as nearest keeps statements (its three caches of 512)
def numbered(clause: TextClause) -> NumberedStatement:
    """``NumberedStatement.of``, once per statement object (build them once, e.g. with lru_cache)."""
    return NumberedStatement.of(clause)


@contextmanager
def _raw_cursors(connection: Connection) -> Iterator[None]:
    driver = driver_connection(connection)
    cursor_factory = driver.cursor_factory
    driver.cursor_factory = psycopg.RawCursor
    try:
        yield
    finally:
        driver.cursor_factory = cursor_factory


def fetch_all(
    connection: Connection,
    statement: NumberedStatement,
    params: Mapping[str, Any],
    *,
    prepare: bool,
    binary: bool = False,
) -> list[tuple[Any, ...]]:
    """Every row of ``statement`` with ``params``, as tuples. ``prepare``: PostgreSQL keeps the
    statement on this connection from its first run (and a generic plan after five), where
    psycopg would wait for its sixth; False plans it with its values every time. ``binary``:
    in autocommit, the rows come in PostgreSQL's binary format, the same values for fewer
    conversions (floats and UUIDs are not parsed from text: 24-47 us less client time a nearest
    query of 10 rows at 100k services); the columns must have binary loaders in psycopg
    (PostGIS types have none in either format). In a transaction it is ignored: SQLAlchemy
    runs the statement and fetches text.

    In autocommit (the API's reads, service.platform.db.read_connection) the cursor runs it
    alone. In a transaction SQLAlchemy runs it, on a raw cursor, so that it knows of the
    transaction (its begin and rollback) as of any other statement."""
    driver = driver_connection(connection)
    values = statement.values(params)
    if not driver.autocommit:
        threshold = driver.prepare_threshold
        driver.prepare_threshold = 0 if prepare else None
        try:
            with _raw_cursors(connection):
                return [tuple(row) for row in connection.exec_driver_sql(statement.sql, values)]
        finally:
            driver.prepare_threshold = threshold
    try:
        with psycopg.RawCursor(driver) as cursor:
            cursor.execute(statement.sql, values, prepare=prepare, binary=binary)
            return cursor.fetchall()
    except psycopg.Error as error:
        lost = driver.broken or driver.closed  # what the psycopg dialect reads as a disconnect
        if lost:
            # As SQLAlchemy does on a disconnect (Connection._handle_dbapi_exception): every
            # connection the pool handed out before now is replaced too (the server restarted
            # or failed over), not only this one.
            connection.engine.pool._invalidate(connection.connection, error)
            connection.invalidate(error)
        raise DBAPIError.instance(
            statement.sql,
            None,
            error,
            psycopg.Error,
            hide_parameters=True,
            connection_invalidated=lost,
            dialect=connection.dialect,
        ) from error
