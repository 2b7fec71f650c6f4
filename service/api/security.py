"""The one dependency that authenticates, authorises and rate-limits every request.

It runs in the event loop (``async``): checking a signature and reading the per-process
revocation and rate-limit memory never block. Only when the database must be asked (a token
id not seen for ``revocation_cache_s``, or a batch of hits to add to the shared count) does
that step go to a worker thread. A thread hop per request cost as much as a cached tile.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.concurrency import run_in_threadpool

from service.api.dependencies import app_state
from service.api.policies import Policy, policy_for
from service.auth.keys import TrustedIssuer
from service.auth.principal import ANONYMOUS_KEY_PREFIX, Principal
from service.auth.tokens import InvalidToken, token_issuer, verify_token
from service.platform.db import DATABASE_DOWN
from service.platform.problem_texts import fr_number
from service.platform.problems import Problem
from service.platform.settings import auth_settings, limit_settings

log = logging.getLogger("fieldnav.auth")

INVALID_TOKEN = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
# The English detail stays terse (clients and tests match it); the French one says what to do.
INVALID_TOKEN_FR = "Ce jeton d’accès n’est pas valide. Reconnectez-vous pour en obtenir un nouveau."


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "unauthorized", "invalid token", detail_fr=INVALID_TOKEN_FR, headers=INVALID_TOKEN)
    return token.strip()


def _refused(error: InvalidToken) -> Problem:
    log.info("token refused: %s", error)  # the reason stays in our logs, never in the answer
    return Problem(401, "unauthorized", "invalid token", detail_fr=INVALID_TOKEN_FR, headers=INVALID_TOKEN)


def _verified(token: str, issuer: TrustedIssuer) -> tuple[Principal, datetime]:
    """The token's principal and expiry, or 401."""
    try:
        return verify_token(token, issuer)
    except InvalidToken as error:
        raise _refused(error) from None


def _too_busy_to_check() -> Problem:
    """No free database connection for an access check. The database is up, only saturated:
    skipping the check (as during an outage) would let revoked tokens and floods through
    exactly when the server is busiest, so the request is refused instead (issue 15, 2)."""
    log.warning("access check refused: no free database connection")
    return Problem(
        503,
        "unavailable",
        "The server is too busy to check this request right now; try again shortly.",
        detail_fr="Le serveur est trop occupé pour vérifier cette requête pour le moment ; réessayez dans un instant.",
        headers={"Retry-After": "2"},
    )


def _is_revoked(request: Request, principal: Principal, policy: Policy) -> bool:
    """Asks the database (blocking) unless the answer is cached."""
    try:
        return app_state(request).revocations.is_revoked(principal.token_id)
    except PoolTimeoutError:  # a busy pool is not an outage: never skip the check
        raise _too_busy_to_check() from None
    except DATABASE_DOWN:
        # Without the database we cannot know. Reads of the public directory (and its
        # cached tiles) go on with a valid signature; anything touching personal data stops.
        if not policy.directory_read:
            raise Problem(
                503,
                "unavailable",
                "The database is not reachable right now; try again shortly.",
                detail_fr="La base de données n’est pas joignable pour le moment ; réessayez dans un instant.",
                headers={"Retry-After": "5"},
            ) from None
        log.warning("revocation check skipped: database unreachable")
        return False


async def _verify(request: Request, token: str) -> Principal:
    """Checks the signature and claims, and remembers the token as verified."""
    try:
        issuer = token_issuer(token)
    except InvalidToken as error:
        raise _refused(error) from None
    # Keys named by URL may be fetched over the network: not in the event loop.
    principal, expires_at = (
        await run_in_threadpool(_verified, token, issuer) if issuer.jwks_url else _verified(token, issuer)
    )
    app_state(request).verified_tokens.remember(token, principal, expires_at)
    return principal


async def authenticate(request: Request, policy: Policy) -> Principal | None:
    token = _bearer(request)
    if token is None:
        return None
    principal = app_state(request).verified_tokens.get(token) or await _verify(request, token)
    revoked = app_state(request).revocations.known(principal.token_id)
    if revoked is None:
        revoked = await run_in_threadpool(_is_revoked, request, principal, policy)
    if revoked:
        log.info("token refused: revoked")
        raise Problem(401, "unauthorized", "invalid token", detail_fr=INVALID_TOKEN_FR, headers=INVALID_TOKEN)
    return principal


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def rate_limit(request: Request, principal: Principal | None, policy: Policy) -> None:
    limits = limit_settings()
    key = principal.key if principal else ANONYMOUS_KEY_PREFIX + _client_address(request)
    buckets = [(key, limits.requests_per_min)]
    if policy.expensive:
        buckets.append((key + "|expensive", limits.expensive_per_min))
    limiter = app_state(request).rate_limiter
    for bucket, limit in buckets:
        verdict = limiter.try_hit(bucket, limit)
        if verdict is None:
            try:
                verdict = await run_in_threadpool(limiter.hit, bucket, limit)
            except PoolTimeoutError:  # a busy pool is not an outage: refuse, never let it through uncounted
                raise _too_busy_to_check() from None
        if not verdict.allowed:
            raise Problem(
                429,
                "rate-limited",
                f"Too many requests: at most {limit} every {limits.window_s} s. Try again in {verdict.retry_after_s} s.",
                detail_fr=f"Trop de requêtes : au plus {fr_number(limit)} toutes les {fr_number(limits.window_s)} s. "
                f"Réessayez dans {fr_number(verdict.retry_after_s)} s.",
                title="Too Many Requests",
                headers={"Retry-After": str(verdict.retry_after_s)},
            )


async def authorize(request: Request) -> Principal | None:
    """Applied to every route: find its policy, check the token, the role, the rate."""
    route = request.scope.get("route")
    policy = policy_for(request.method, getattr(route, "path", ""))
    if policy is None:
        raise Problem(
            403,
            "forbidden",
            "This operation has no access policy and is refused.",
            detail_fr="Cette opération n’a pas de règle d’accès : elle est refusée.",
        )
    if policy.roles is None:
        if policy.limited_by_address:
            await rate_limit(request, None, policy)
        return None
    principal = await authenticate(request, policy)
    open_read = policy.directory_read and auth_settings().public_reads
    if principal is None and not open_read:
        raise Problem(
            401,
            "unauthorized",
            "A bearer token is required.",
            headers={"WWW-Authenticate": "Bearer"},
            detail_fr="Un jeton d’accès est requis. Connectez-vous, puis réessayez.",
        )
    if principal is not None and principal.role not in policy.roles:
        raise Problem(
            403,
            "forbidden",
            f"The {principal.role.value} role may not do this.",
            detail_fr=f"Le rôle « {principal.role.value} » ne permet pas cette action.",
        )
    request.state.principal = principal
    await rate_limit(request, principal, policy)
    return principal


async def current_principal(request: Request) -> Principal:
    principal = getattr(request.state, "principal", None)
    if principal is None:
        raise Problem(
            401,
            "unauthorized",
            "A bearer token is required.",
            headers={"WWW-Authenticate": "Bearer"},
            detail_fr="Un jeton d’accès est requis. Connectez-vous, puis réessayez.",
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
