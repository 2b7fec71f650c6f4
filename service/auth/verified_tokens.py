"""This worker's memory of the tokens it has verified, so a phone's burst of requests (a map's
tiles, nearest after nearest) pays the signature check once.

Checking an Ed25519 signature and the claims took 7% of a worker's time under the nearest
load (py-spy, bench/README.md, issue 21). A token whose exact text verified within the last
``memory_s`` seconds, and has not expired since, gives the same principal again without it.
So a key an issuer stops publishing (keys fetched by URL, service/auth/keys.py) stops being
trusted by each worker within ``memory_s`` of the fetch that drops it, the time a "not
revoked" answer is reused (service/auth/revocation.py): both are
FIELDNAV_AUTH_REVOCATION_CACHE_S. Revocation is still checked on every request.

Tokens are remembered by their SHA-256, not their text: the memory holds no usable secret.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime

from cachetools import TTLCache

from service.auth.principal import Principal

# Distinct tokens one worker remembers: a few hundred phones send a burst each within the
# memory time; the bound caps the worst case (four claims of up to tokens.MAX_CLAIM_CHARS each) at ~15 MB.
MAX_TOKENS = 10_000


@dataclass(frozen=True)
class _Verified:
    principal: Principal
    expires_at_s: float  # the token's exp, seconds since the epoch


class VerifiedTokens:
    def __init__(self, memory_s: float):
        self._memory: TTLCache[bytes, _Verified] | None = (
            TTLCache(maxsize=MAX_TOKENS, ttl=memory_s, timer=time.monotonic) if memory_s > 0 else None
        )

    @staticmethod
    def _key(token: str) -> bytes:
        return hashlib.sha256(token.encode()).digest()

    def get(self, token: str) -> Principal | None:
        """The principal of a token verified recently and still unexpired; None when it must be verified."""
        if self._memory is None:
            return None
        verified = self._memory.get(self._key(token))
        if verified is None or time.time() >= verified.expires_at_s:
            return None
        return verified.principal

    def remember(self, token: str, principal: Principal, expires_at: datetime) -> None:
        if self._memory is not None:
            self._memory[self._key(token)] = _Verified(principal, expires_at.timestamp())
