"""Bearer tokens fieldnav signs, for a role, and the headers of a request made with one."""

from __future__ import annotations

import uuid
from datetime import timedelta

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
