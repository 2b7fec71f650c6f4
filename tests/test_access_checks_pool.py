"""A pool with no free connection is not a database outage for the access checks (issue 15, 2).

During an outage, reads of the public directory go on with a valid signature: the revocation
check is skipped and the rate limiter does not count (service/api/security.py). A pool timeout
used to be taken for an outage too, so whenever the server was busiest (pack builds holding
every connection) revoked tokens and floods went through. Now a pool timeout refuses the
request (503 with Retry-After) and keeps the limiter's hits for its next write; a real outage
keeps today's behaviour. On a real PostGIS, with an engine whose one connection is held."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from service.api import security
from service.api.policies import DIRECTORY, Policy
from service.api.rate_limit import RateLimiter
from service.auth.revocation import RevocationCheck, revoke
from service.platform.db import make_engine
from service.platform.problems import Problem
from service.platform.settings import auth_settings, limit_settings

EXPENSIVE_DIRECTORY = Policy(roles=DIRECTORY.roles, directory_read=True, expensive=True)


@pytest.fixture
def busy_engine(database_url):
    """An engine of one connection, held by the test: every other checkout times out (0.3 s)."""
    engine = make_engine(database_url, pool_size=1, pool_timeout=0.3)
    holder = engine.connect()
    yield engine, holder
    holder.close()
    engine.dispose()


@pytest.fixture
def down_engine():
    """An engine whose database is unreachable (nothing listens on the port): a real outage."""
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none", connect_args={"connect_timeout": 1})
    yield engine
    engine.dispose()


def _shared_hits(engine, bucket: str) -> int:
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT coalesce(sum(hits), 0) FROM rate_limit_window WHERE bucket = :b"), {"b": bucket}
        ).scalar_one()


def _request(engine, host: str = "192.0.2.7"):
    """What the access checks read of a request: the app's state (service/api/state.py) over
    ``engine``, the client."""
    state = SimpleNamespace(
        rate_limiter=RateLimiter(engine, limit_settings().window_s),
        revocations=RevocationCheck(engine, auth_settings().revocation_cache_s),
    )
    return SimpleNamespace(
        app=SimpleNamespace(state=SimpleNamespace(fieldnav=state)), client=SimpleNamespace(host=host)
    )


def _principal(token_id: str):
    return SimpleNamespace(token_id=token_id, key=f"user:{token_id}")


# --- the rate limiter ---------------------------------------------------------------------------


def test_a_pool_timeout_in_the_limiter_is_raised_not_allowed_and_its_hits_are_kept(busy_engine):
    engine, holder = busy_engine
    limiter, bucket = RateLimiter(engine, window_s=3600), f"busy-{uuid.uuid4()}"
    assert limiter.try_hit(bucket, 5) is None  # a limit of 5: every hit goes to the database
    with pytest.raises(PoolTimeoutError):
        limiter.hit(bucket, 5)  # before: Verdict(allowed=True), as if the database were down
    holder.close()  # a connection frees up: the kept hit is written with the next one
    assert limiter.hit(bucket, 5).allowed
    assert _shared_hits(engine, bucket) == 2


def test_a_real_outage_still_lets_the_limiter_fail_open(down_engine):
    limiter = RateLimiter(down_engine, window_s=3600)
    assert limiter.hit(f"down-{uuid.uuid4()}", 5).allowed


def test_the_access_check_refuses_a_request_it_cannot_count(busy_engine):
    engine, _ = busy_engine
    with pytest.raises(Problem) as refused:
        asyncio.run(security.rate_limit(_request(engine), None, EXPENSIVE_DIRECTORY))
    assert refused.value.status == 503 and refused.value.slug == "unavailable"
    assert refused.value.headers["Retry-After"] == "2" and refused.value.detail_fr


# --- the revocation check -------------------------------------------------------------------------


def test_a_pool_timeout_in_the_revocation_check_refuses_even_directory_reads(busy_engine, database_url):
    engine, holder = busy_engine
    token_id = f"revoked-{uuid.uuid4()}"
    writer = create_engine(database_url)
    with writer.begin() as connection:
        revoke(connection, token_id, reason="lost phone")
    writer.dispose()
    request = _request(engine)
    for policy in (DIRECTORY, Policy(roles=DIRECTORY.roles)):
        with pytest.raises(Problem) as refused:  # before: False (not revoked) for a directory read
            security._is_revoked(request, _principal(token_id), policy)
        assert refused.value.status == 503 and "Retry-After" in refused.value.headers
    holder.close()
    assert security._is_revoked(request, _principal(token_id), DIRECTORY) is True


def test_a_real_outage_keeps_directory_reads_going_and_stops_the_rest(down_engine):
    request = _request(down_engine)
    request.app.state.fieldnav.revocations = RevocationCheck(down_engine, cache_s=5)
    assert security._is_revoked(request, _principal("any"), DIRECTORY) is False
    with pytest.raises(Problem) as refused:
        security._is_revoked(request, _principal("any"), Policy(roles=DIRECTORY.roles))
    assert refused.value.status == 503
