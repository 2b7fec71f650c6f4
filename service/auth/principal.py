"""The caller, as established from a verified token."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    FIELD_WORKER = "field_worker"
    SUPERVISOR = "supervisor"
    NAVIGATOR = "navigator"
    ADMIN = "admin"
    # A service provider's staff (a shelter's front desk): updates the live counts of the
    # organizations an admin granted it (service/capacity/grants.py), and nothing else.
    PROVIDER = "provider"


@dataclass(frozen=True)
class Principal:
    subject: str
    agency: str
    role: Role
    token_id: str
    issuer: str

    @property
    def key(self) -> str:
        """Stable id of the caller across tokens (rate limits, idempotency keys)."""
        return f"{self.issuer}|{self.subject}"


ANONYMOUS_KEY_PREFIX = "anon|"
