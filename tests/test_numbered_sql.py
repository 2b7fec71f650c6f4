"""Long statements with $n placeholders on a raw psycopg cursor (service/platform/numbered_sql.py),
on a real PostgreSQL, in autocommit (as the API reads) and in a transaction: the same rows,
prepared or not as asked, and errors as SQLAlchemy raises them, so the API still answers a
timeout or a lost connection with its 503 and the connection is usable or replaced after."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from psycopg.errors import QueryCanceled
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.platform.db import DATABASE_DOWN, driver_connection, make_engine
from service.platform.numbered_sql import NumberedStatement, fetch_all

# Over psycopg's 4 KB parsing cache on purpose, with a name used twice and a cast.
LONG = text(
    "SELECT CAST(:a AS integer) + (:b)::integer AS total, CAST(:a AS integer) AS a, CAST(:words AS text[]) AS words"
    + " " * 5000
)
MODES = ["autocommit", "transaction"]


@contextmanager
def _connected(engine, mode: str):
    with engine.connect() as connection:
        yield connection.execution_options(isolation_level="AUTOCOMMIT") if mode == "autocommit" else connection


def test_names_become_numbers_once_each():
    statement = NumberedStatement.of(LONG)
    assert statement.names == ("a", "b", "words")
    assert statement.sql.startswith(
        "SELECT CAST($1 AS integer) + ($2)::integer AS total, CAST($1 AS integer) AS a, CAST($3 AS text[])"
    )
    assert statement.values({"words": ["x"], "b": 2, "a": 1, "unused": 0}) == (1, 2, ["x"])


def _prepared_here(connection) -> int:
    return connection.execute(text("SELECT count(*) FROM pg_prepared_statements WHERE NOT from_sql")).scalar_one()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("prepare", [True, False])
def test_rows_and_preparation_as_asked(engine, mode, prepare):
    statement = NumberedStatement.of(LONG)
    with _connected(engine, mode) as connection:
        before = _prepared_here(connection)
        for a in range(3):
            rows = fetch_all(connection, statement, {"a": a, "b": 10, "words": ["a", "b"]}, prepare=prepare)
            assert rows == [(a + 10, a, ["a", "b"])]
        assert _prepared_here(connection) - before == (1 if prepare else 0)


# The types nearest's statements return, and a NULL of each.
TYPED = text(
    "SELECT CAST(:id AS uuid) AS id, CAST(:card AS json) AS card, CAST(:card AS jsonb) AS card_b,"
    " CAST(:x AS float8) AS x, CAST(:word AS text) AS word, CAST(:words AS text[]) AS words"
    " UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL"
)


@pytest.mark.parametrize("mode", MODES)
def test_binary_rows_equal_text_rows(engine, mode):
    statement = NumberedStatement.of(TYPED)
    params = {
        "id": "6f1c7b9e-2d4a-4c1e-9a51-0d3f6b2e8c47",
        "card": '{"name": "Maison d\u2019accueil", "phones": [{"tel": "tel:+14165550100"}], "n": 1.5, "x": null}',
        "x": 1234.5678901234,
        "word": "unknown",
        "words": ["fr", "en"],
    }
    with _connected(engine, mode) as connection:
        as_text = fetch_all(connection, statement, params, prepare=True)
        as_binary = fetch_all(connection, statement, params, prepare=True, binary=True)
    assert as_binary == as_text
    assert as_text[0][1] == {"name": "Maison d’accueil", "phones": [{"tel": "tel:+14165550100"}], "n": 1.5, "x": None}
    assert str(as_text[0][0]) == params["id"] and as_text[0][3] == params["x"] and as_text[1] == (None,) * 6


@pytest.mark.parametrize("mode", MODES)
def test_binary_is_asked_for_in_autocommit_only(engine, mode):
    # psycopg has no loader for PostGIS's geometry: its text form comes as a str, its binary
    # form as bytes, so the type of the value says which format the server sent.
    statement = NumberedStatement.of(text("SELECT ST_MakePoint(:x, 2)"))
    with _connected(engine, mode) as connection:
        [(as_text,)] = fetch_all(connection, statement, {"x": 1.0}, prepare=True)
        [(as_binary,)] = fetch_all(connection, statement, {"x": 1.0}, prepare=True, binary=True)
    assert isinstance(as_text, str)
    assert isinstance(as_binary, bytes if mode == "autocommit" else str)
    assert as_text.lower() == (as_binary.hex() if isinstance(as_binary, bytes) else as_binary).lower()


@pytest.mark.parametrize("mode", MODES)
def test_a_statement_timeout_is_sqlalchemys_error_with_the_cancel_inside(database_url, mode):
    engine = make_engine(database_url, statement_timeout_ms=50)
    try:
        with _connected(engine, mode) as connection:
            with pytest.raises(DBAPIError) as raised:
                fetch_all(connection, NumberedStatement.of(text("SELECT pg_sleep(:s)")), {"s": 2}, prepare=True)
            assert isinstance(raised.value, DATABASE_DOWN) and isinstance(raised.value.orig, QueryCanceled)
            assert "pg_sleep" in str(raised.value) and "'s': 2" not in str(raised.value)  # parameters hidden
            connection.rollback()
            assert connection.execute(text("SELECT 1")).scalar_one() == 1  # still usable
    finally:
        engine.dispose()


@pytest.mark.parametrize("mode", MODES)
def test_a_lost_connection_replaces_the_pools_connections(engine, mode):
    """As SQLAlchemy does on a disconnect: the lost connection is invalidated, and so is every
    connection the pool handed out before (the server restarted), so none fails next."""
    statement = NumberedStatement.of(text("SELECT CAST(:x AS integer)"))
    with engine.connect() as pooled:  # back in the pool, idle for less than the ping delay
        pooled_pid = driver_connection(pooled).info.backend_pid
    with _connected(engine, mode) as connection, engine.connect() as other:
        pid, other_pid = (driver_connection(c).info.backend_pid for c in (connection, other))
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as raised:
            fetch_all(connection, statement, {"x": 1}, prepare=True)
        assert isinstance(raised.value, DATABASE_DOWN) and raised.value.connection_invalidated
        assert connection.invalidated
    with engine.connect() as connection:  # a new connection, not one from before
        assert driver_connection(connection).info.backend_pid not in (pid, pooled_pid, other_pid)
        assert fetch_all(connection, statement, {"x": 7}, prepare=True) == [(7,)]
