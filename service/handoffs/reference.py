"""Reference codes: a short code per handoff that a worker reads out to the person (or to a
navigator on the phone), e.g. ``K7M-4QX``.

Six characters from an alphabet without look-alikes (Crockford's base 32 without 0 O 1 I L U:
nothing a listener can mishear as something else), 30^6 = 729 million codes, drawn with
``secrets``. Shown and stored as ``XXX-XXX``; typed back in any case, with or without the
dash or a space. Unique in the database (``handoff_reference_key``); the insert draws again
on the rare collision (service/handoffs/commands.py).
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 6
# What a person may type to look one up (GET /v1/navigator/queue?reference=): any letters and
# digits, so a mistyped look-alike finds nothing instead of being refused.
QUERY_PATTERN = r"^[A-Za-z0-9]{3}[- ]?[A-Za-z0-9]{3}$"


def new_reference() -> str:
    code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{code[:3]}-{code[3:]}"


def canonical(typed: str) -> str:
    """``typed`` (matching QUERY_PATTERN) as stored: upper case, ``XXX-XXX``."""
    code = typed.strip().upper().replace("-", "").replace(" ", "")
    return f"{code[:3]}-{code[3:]}"
