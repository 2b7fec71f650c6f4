"""Share links: 192 random bits, URL-safe; only their SHA-256 is stored (a copy of the
database does not open the pages, and a lookup by hash is as fast as one by token)."""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_BYTES = 24  # 192 bits: unguessable with any number of tries a rate limit allows
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32}$")  # token_urlsafe(24): 32 characters, no padding


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii")).digest()


def looks_like_token(token: str) -> bool:
    return TOKEN_PATTERN.fullmatch(token) is not None
