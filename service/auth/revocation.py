"""Revoked tokens (a lost device): checked on every request, cached briefly per process."""

from __future__ import annotations

import time
from datetime import datetime

from cachetools import TTLCache
from sqlalchemy import Connection, Engine, text

from service.platform.db import read_connection


def revoke(
    connection: Connection, token_id: str, *, expires_at: datetime | None = None, reason: str | None = None
) -> bool:
    """True when newly revoked, False when it already was."""
    inserted = connection.execute(
        text(
            "INSERT INTO revoked_token (jti, expires_at, reason) VALUES (:jti, :expires_at, :reason) "
            "ON CONFLICT (jti) DO NOTHING RETURNING jti"
        ),
        {"jti": token_id, "expires_at": expires_at, "reason": reason},
    ).first()
    return inserted is not None


class RevocationCheck:
    """Asks the database whether a token id is revoked; "no" answers are reused for
    ``cache_s`` (so a revocation takes effect within that time on every worker), "yes"
    answers forever (a revocation is never undone)."""

    def __init__(self, engine: Engine, cache_s: float):
        self._engine = engine
        self._not_revoked: TTLCache[str, bool] | None = (
            TTLCache(maxsize=100_000, ttl=cache_s, timer=time.monotonic) if cache_s > 0 else None
        )
        self._revoked: set[str] = set()

    def known(self, token_id: str) -> bool | None:
        """The cached answer, without touching the database; None when it must be asked."""
        if token_id in self._revoked:
            return True
        if self._not_revoked is not None and token_id in self._not_revoked:
            return False
        return None

    def is_revoked(self, token_id: str) -> bool:
        known = self.known(token_id)
        if known is not None:
            return known
        with read_connection(self._engine, self._engine) as connection:  # autocommit: see read_connection
            revoked = connection.execute(
                text("SELECT EXISTS (SELECT 1 FROM revoked_token WHERE jti = :jti)"), {"jti": token_id}
            ).scalar_one()
        if revoked:
            self._revoked.add(token_id)
        elif self._not_revoked is not None:
            self._not_revoked[token_id] = True
        return revoked
