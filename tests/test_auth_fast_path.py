"""The access check answers most requests without the database (service/api/security.py runs
in the event loop): the rate limiter counts locally between batches, the revocation memory
answers for tokens it has seen, and only tokens of an issuer whose keys come from a URL are
verified off the loop. These pieces on a real PostGIS."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from service.api.rate_limit import RateLimiter
from service.auth import keys
from service.auth.principal import Role
from service.auth.revocation import RevocationCheck, revoke
from service.auth.tokens import InvalidToken, create_token, token_issuer, verify_token
from service.auth.verified_tokens import VerifiedTokens
from service.platform.settings import auth_settings


def _shared_hits(engine, bucket: str) -> int:
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT coalesce(sum(hits), 0) FROM rate_limit_window WHERE bucket = :b"), {"b": bucket}
        ).scalar_one()


def _hit_as_the_access_check_does(limiter: RateLimiter, bucket: str, limit: int) -> tuple[bool, bool]:
    """(allowed, went to the database)."""
    verdict = limiter.try_hit(bucket, limit)
    if verdict is not None:
        return verdict.allowed, False
    return limiter.hit(bucket, limit).allowed, True


def test_the_limiter_counts_locally_between_batches_and_stays_exact_at_the_limit(engine):
    limit = 200  # batches of 10; every hit is synced once the count is within a batch of the limit
    limiter, bucket = RateLimiter(engine, window_s=3600), f"fast-{uuid.uuid4()}"
    outcomes = [_hit_as_the_access_check_does(limiter, bucket, limit) for _ in range(limit + 5)]
    allowed = [ok for ok, _ in outcomes]
    assert allowed == [True] * limit + [False] * 5
    synced = sum(went for _, went in outcomes)
    # Far from the limit, one write in ten hits; near it, every hit.
    assert 25 <= synced <= 40, synced
    assert all(not went for _, went in outcomes[:9]) and all(went for _, went in outcomes[-15:])
    # Nothing counted twice or lost: the shared count holds every hit up to the last sync.
    assert _shared_hits(engine, bucket) == limit + 5


def test_a_hit_that_must_be_synced_is_not_counted_by_try_hit(engine):
    limiter, bucket = RateLimiter(engine, window_s=3600), f"fast-{uuid.uuid4()}"
    assert limiter.try_hit(bucket, 5) is None  # batch of 1: every hit goes to the database
    assert limiter.try_hit(bucket, 5) is None
    assert _shared_hits(engine, bucket) == 0
    assert limiter.hit(bucket, 5).allowed
    assert _shared_hits(engine, bucket) == 1


def test_other_processes_hits_are_seen_at_the_next_sync(engine):
    limit, bucket = 100, f"fast-{uuid.uuid4()}"
    first, second = RateLimiter(engine, window_s=3600), RateLimiter(engine, window_s=3600)
    for _ in range(95):
        _hit_as_the_access_check_does(first, bucket, limit)
    # The second process has counted nothing yet; its first sync learns the shared total.
    outcomes = [_hit_as_the_access_check_does(second, bucket, limit) for _ in range(20)]
    assert [ok for ok, _ in outcomes].count(True) <= 10
    assert not outcomes[-1][0]


def test_revocation_memory_answers_without_the_database_once_asked(engine):
    check = RevocationCheck(engine, cache_s=60)
    fine, gone = str(uuid.uuid4()), str(uuid.uuid4())
    assert check.known(fine) is None and check.known(gone) is None
    with engine.begin() as connection:
        revoke(connection, gone)
    assert check.is_revoked(fine) is False and check.is_revoked(gone) is True
    assert check.known(fine) is False and check.known(gone) is True


def test_revocation_no_answers_expire(engine):
    check = RevocationCheck(engine, cache_s=0.2)
    token_id = str(uuid.uuid4())
    assert check.is_revoked(token_id) is False
    with engine.begin() as connection:
        revoke(connection, token_id)
    time.sleep(0.3)
    assert check.known(token_id) is None  # must ask again: the revocation is then seen
    assert check.is_revoked(token_id) is True


@pytest.fixture
def issuers_with_a_jwks_url(tmp_path, monkeypatch):
    (tmp_path / "issuers.yaml").write_text(
        "- issuer: https://idp.example\n  audience: fieldnav\n  jwks_url: https://idp.example/jwks.json\n"
        f"- issuer: https://file-idp.example\n  audience: fieldnav\n  jwks_file: {tmp_path / 'jwks.json'}\n"
    )
    monkeypatch.setenv("FIELDNAV_AUTH_ISSUERS_FILE", str(tmp_path / "issuers.yaml"))
    for cached in (auth_settings, keys.trusted_issuers):
        getattr(cached, "cache_clear", lambda: None)()
    yield
    monkeypatch.delenv("FIELDNAV_AUTH_ISSUERS_FILE")
    for cached in (auth_settings, keys.trusted_issuers):
        getattr(cached, "cache_clear", lambda: None)()


def test_only_tokens_whose_keys_come_from_a_url_are_verified_off_the_loop(issuers_with_a_jwks_url):
    import jwt

    own = create_token(agency="a", role=Role.FIELD_WORKER, subject="s", ttl=timedelta(minutes=5))[0]
    assert not token_issuer(own).jwks_url
    by_url = jwt.encode({"iss": "https://idp.example", "sub": "x"}, "k" * 32, "HS256")
    by_file = jwt.encode({"iss": "https://file-idp.example", "sub": "x"}, "k" * 32, "HS256")
    assert token_issuer(by_url).jwks_url
    assert not token_issuer(by_file).jwks_url
    with pytest.raises(InvalidToken):  # refused before any key is looked for
        token_issuer("not.a.jwt")


# --- verified tokens (service/auth/verified_tokens.py) ------------------------------------------


def _signed(ttl: timedelta) -> tuple[str, object, object]:
    token = create_token(agency="agency-a", role=Role.FIELD_WORKER, subject="memory", ttl=ttl)[0]
    principal, expires_at = verify_token(token)
    return token, principal, expires_at


def test_a_verified_token_is_remembered_by_its_hash_until_the_memory_ends():
    memory = VerifiedTokens(memory_s=0.3)
    token, principal, expires_at = _signed(timedelta(hours=1))
    assert memory.get(token) is None
    memory.remember(token, principal, expires_at)
    assert memory.get(token) == principal
    assert memory.get(token + "x") is None  # another text is another token
    assert [len(key) for key in memory._memory] == [32]  # a SHA-256, not the token: no usable secret is kept
    time.sleep(0.4)
    assert memory.get(token) is None


def test_an_expired_token_is_never_given_from_memory():
    memory = VerifiedTokens(memory_s=60)
    token, principal, _ = _signed(timedelta(hours=1))
    memory.remember(token, principal, datetime.now(UTC) - timedelta(seconds=1))
    assert memory.get(token) is None


def test_no_memory_when_the_revocation_cache_is_off():
    memory = VerifiedTokens(memory_s=0)
    token, principal, expires_at = _signed(timedelta(hours=1))
    memory.remember(token, principal, expires_at)
    assert memory.get(token) is None
