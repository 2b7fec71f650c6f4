"""Pooled connections are pinged only after sitting idle (service/platform/db.py): a connection just
returned goes straight back to work, one that died while idle is replaced at checkout."""

from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy import text

from service.platform import db
from service.platform.db import make_engine


def _backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _count_pings(engine, monkeypatch) -> list[int]:
    pings: list[int] = []
    real_ping = engine.dialect.do_ping

    def counting_ping(dbapi_connection):
        pings.append(1)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counting_ping)
    return pings


@pytest.fixture
def one_connection_engine(database_url):
    engine = make_engine(database_url, pool_size=1)
    yield engine
    engine.dispose()


def test_a_connection_just_returned_is_not_pinged(one_connection_engine, monkeypatch):
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 60.0)
    engine = one_connection_engine
    pings = _count_pings(engine, monkeypatch)
    first = _backend_pid(engine)
    assert [_backend_pid(engine) for _ in range(5)] == [first] * 5
    assert pings == []


def test_an_idle_connection_is_pinged_and_replaced_when_it_died(one_connection_engine, database_url, monkeypatch):
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.05)
    engine = one_connection_engine
    pings = _count_pings(engine, monkeypatch)
    first = _backend_pid(engine)
    time.sleep(0.1)
    assert _backend_pid(engine) == first and len(pings) == 1  # alive: pinged, kept
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (first,))
    time.sleep(0.1)
    # The dead connection fails its ping and the checkout gets a new one: no error reaches the caller.
    replaced = _backend_pid(engine)
    assert replaced != first and len(pings) == 2


def test_api_sessions_have_no_jit_and_no_parallel_workers(one_connection_engine):
    with one_connection_engine.connect() as connection:
        settings = {
            name: connection.exec_driver_sql(f"SHOW {name}").scalar_one()
            for name in ("jit", "max_parallel_workers_per_gather")
        }
    assert settings == {"jit": "off", "max_parallel_workers_per_gather": "0"}
