"""The one dependency that authenticates, authorises and rate-limits every request."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine, text

from service.api.policies import Policy, policy_for
from service.auth.principal import ANONYMOUS_KEY_PREFIX, Principal
from service.auth.revocation import RevocationCheck
from service.auth.tokens import InvalidToken, verify_token
from service.problems import Problem
from service.settings import auth_settings, limit_settings

log = logging.getLogger("fieldnav.auth")

INVALID_TOKEN = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "unauthorized", "invalid token", headers=INVALID_TOKEN)
    return token.strip()


def _revocations(request: Request) -> RevocationCheck:
    state = request.app.state
    if getattr(state, "revocations", None) is None:
        state.revocations = RevocationCheck(state.engine, auth_settings().revocation_cache_s)
    return state.revocations


def authenticate(request: Request) -> Principal | None:
    token = _bearer(request)
    if token is None:
        return None
    try:
        principal, _ = verify_token(token)
    except InvalidToken as error:
        log.info("token refused: %s", error)  # the reason stays in our logs, never in the answer
        raise Problem(401, "unauthorized", "invalid token", headers=INVALID_TOKEN) from None
    if _revocations(request).is_revoked(principal.token_id):
        log.info("token refused: revoked")
        raise Problem(401, "unauthorized", "invalid token", headers=INVALID_TOKEN)
    return principal


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _count_hit(engine: Engine, bucket: str, window_s: int) -> tuple[int, int]:
    """(hits in the current window, seconds until it ends), shared by every process.
    Fixed windows: simple, one row per caller per window, good enough against abuse."""
    with engine.begin() as connection:
        row = connection.execute(text("""
            WITH w AS (SELECT to_timestamp(floor(extract(epoch FROM now()) / :window_s) * :window_s) AS start)
            INSERT INTO rate_limit_window (bucket, window_start, hits)
            SELECT :bucket, w.start, 1 FROM w
            ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limit_window.hits + 1
            RETURNING hits, ceil(extract(epoch FROM window_start + make_interval(secs => :window_s) - now()))::int
        """), {"bucket": bucket, "window_s": window_s}).one()
        if row[0] == 1:  # first hit of a window: forget windows that are over
            connection.execute(text("DELETE FROM rate_limit_window WHERE bucket = :bucket AND window_start < now() - make_interval(secs => :window_s)"),
                               {"bucket": bucket, "window_s": window_s})
    return row[0], max(1, row[1])


def rate_limit(request: Request, principal: Principal | None, policy: Policy) -> None:
    limits = limit_settings()
    key = principal.key if principal else ANONYMOUS_KEY_PREFIX + _client_address(request)
    buckets = [(key, limits.requests_per_min)]
    if policy.expensive:
        buckets.append((key + "|expensive", limits.expensive_per_min))
    for bucket, limit in buckets:
        hits, retry_after_s = _count_hit(request.app.state.engine, bucket, limits.window_s)
        if hits > limit:
            raise Problem(429, "rate-limited", f"Too many requests: at most {limit} every {limits.window_s} s. Try again in {retry_after_s} s.",
                          title="Too Many Requests", headers={"Retry-After": str(retry_after_s)})


def authorize(request: Request) -> Principal | None:
    """Applied to every route: find its policy, check the token, the role, the rate."""
    route = request.scope.get("route")
    policy = policy_for(request.method, getattr(route, "path", ""))
    if policy is None:
        raise Problem(403, "forbidden", "This operation has no access policy and is refused.")
    if policy.roles is None:
        return None
    principal = authenticate(request)
    open_read = policy.directory_read and auth_settings().public_reads
    if principal is None and not open_read:
        raise Problem(401, "unauthorized", "A bearer token is required.", headers={"WWW-Authenticate": "Bearer"})
    if principal is not None and principal.role not in policy.roles:
        raise Problem(403, "forbidden", f"The {principal.role.value} role may not do this.")
    request.state.principal = principal
    rate_limit(request, principal, policy)
    return principal


def current_principal(request: Request) -> Principal:
    principal = getattr(request.state, "principal", None)
    if principal is None:
        raise Problem(401, "unauthorized", "A bearer token is required.", headers={"WWW-Authenticate": "Bearer"})
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
