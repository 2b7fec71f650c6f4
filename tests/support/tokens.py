"""Bearer tokens fieldnav signs, for a role, and the headers of a request made with one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from service.auth.principal import Role
from service.auth.tokens import create_token


def token(role: Role, agency: str = "agency-a", subject: str = "worker-1") -> str:
    return create_token(agency=agency, role=role, subject=subject, ttl=timedelta(hours=2))[0]


def auth(role: Role, agency: str = "agency-a", subject: str = "worker-1", key: str | None = None) -> dict:
    """Authorization and a fresh Idempotency-Key (``key`` instead; ``key=False``: none)."""
    headers = {"Authorization": f"Bearer {token(role, agency, subject)}"}
    if key is not False:
        headers["Idempotency-Key"] = key or str(uuid.uuid4())
    return headers


def token_for(role: Role, agency: str = "agency-a", subject: str = "user-1", ttl=timedelta(hours=1)) -> str:
    return create_token(agency=agency, role=role, subject=subject, ttl=ttl)[0]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def jwt_claims(**overrides) -> dict:
    """The claims of a token fieldnav would sign; ``name=None`` leaves a claim out."""
    now = datetime.now(UTC)
    claims = {
        "iss": "fieldnav",
        "aud": "fieldnav-api",
        "sub": "u",
        "agency": "agency-a",
        "role": "field_worker",
        "jti": str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(hours=1),
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}
