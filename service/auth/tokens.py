"""Create and verify bearer tokens (JWT, PyJWT)."""

from __future__ import annotations

import math
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from service.auth.keys import (
    ALLOWED_ALGORITHMS,
    TrustedIssuer,
    load_or_create_signing_key,
    trusted_issuers,
    verification_key,
)
from service.auth.principal import Principal, Role
from service.platform.settings import auth_settings

REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "jti"]
# NumericDate claims (RFC 7519 section 2): numbers of seconds, read as datetimes. The last
# second of 9999 is the latest a datetime holds; a larger value is no time, not a long life.
TIME_CLAIMS = ("exp", "iat", "nbf", "auth_time")
LATEST_TIME_S = 253402300799  # 9999-12-31T23:59:59Z
# The claims that name someone or something: stored, logged and compared as text.
TEXT_CLAIMS = ("sub", "agency", "role", "jti")
MAX_CLAIM_CHARS = 255


class InvalidToken(Exception):
    """Any reason a token is not accepted. The reason is for logs only: clients are told
    "invalid token" and nothing more."""


def create_token(
    *,
    agency: str,
    role: Role,
    subject: str,
    ttl: timedelta,
    now: datetime | None = None,
    auth_time: datetime | None = None,
) -> tuple[str, str]:
    """(token, jti) signed with fieldnav's own key. ``auth_time`` (OIDC's claim): when the user
    signed in, for a token renewed through a device (service/auth/devices.py) without them."""
    settings = auth_settings()
    if ttl <= timedelta(0) or ttl > timedelta(hours=settings.max_token_ttl_h):
        raise ValueError(f"ttl must be between 0 and {settings.max_token_ttl_h:g} hours")
    issued = now or datetime.now(UTC)
    token_id = str(uuid.uuid4())
    claims: dict[str, Any] = {
        "iss": settings.issuer,
        "aud": settings.audience,
        "sub": subject,
        "agency": agency,
        "role": role.value,
        "jti": token_id,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl,
    }
    if auth_time is not None:
        claims["auth_time"] = int(auth_time.timestamp())
    return jwt.encode(claims, load_or_create_signing_key(), algorithm="EdDSA"), token_id


def token_issuer(token: str) -> TrustedIssuer:
    """The trusted issuer a token names (read before its signature is checked), or
    InvalidToken. Its ``jwks_url`` tells whether checking the token can fetch keys over the
    network (then the caller verifies it off the event loop)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        issuer = trusted_issuers().get(claims["iss"]) if "iss" in claims else None
    except (jwt.PyJWTError, ValueError, TypeError, AttributeError) as error:
        raise InvalidToken(type(error).__name__) from None
    if issuer is None:
        raise InvalidToken("untrusted issuer")
    return issuer


def verify_token(token: str, issuer: TrustedIssuer | None = None) -> tuple[Principal, datetime]:
    """The principal and the token's expiry, or InvalidToken. ``issuer``: the token's, when the
    caller has read it already (token_issuer)."""
    issuer = issuer or token_issuer(token)
    try:
        claims = jwt.decode(
            token,
            verification_key(issuer, token),
            algorithms=ALLOWED_ALGORITHMS,
            audience=issuer.audience,
            issuer=issuer.issuer,
            leeway=auth_settings().leeway_s,
            options={"require": REQUIRED_CLAIMS},
        )
    except (jwt.PyJWTError, ValueError, TypeError, KeyError, OverflowError) as error:
        raise InvalidToken(type(error).__name__) from None
    _check_claim_types(claims)
    agency, role, subject = claims["agency"], claims["role"], claims["sub"]
    if issuer.agencies is not None and agency not in issuer.agencies:
        raise InvalidToken("issuer may not speak for this agency")
    try:
        parsed_role = Role(role)
    except ValueError:
        raise InvalidToken("unknown role") from None
    principal = Principal(
        subject=subject, agency=agency, role=parsed_role, token_id=claims["jti"], issuer=issuer.issuer
    )
    return principal, datetime.fromtimestamp(claims["exp"], UTC)


def _is_time(value) -> bool:
    return (
        isinstance(value, (int, float))  # what JSON numbers are
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= LATEST_TIME_S
    )


def _is_name(value) -> bool:
    """Text PostgreSQL stores and a log line shows as is: no control characters (NUL
    included) and no lone UTF-16 surrogates."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_CLAIM_CHARS
        and not any(unicodedata.category(c) in ("Cc", "Cs") for c in value)
    )


def _check_claim_types(claims: dict) -> None:
    """A validly signed token may still carry claims of the wrong type (an ``exp`` as text,
    one past the year 9999, a NUL in ``sub``): each is an invalid token, never a 500."""
    for name in TIME_CLAIMS:
        if name in claims and not _is_time(claims[name]):
            raise InvalidToken(f"{name} is not a time")
    for name in TEXT_CLAIMS:
        if not _is_name(claims.get(name)):
            raise InvalidToken(f"{name} missing or not plain text")
