"""The normal form places are stored under and queries are matched in: lower case, no accents,
letters and digits separated by single spaces; a Canadian postal code (full or a prefix) as
"k8a 1a1", whatever its case and spacing ("K8A1A1", "k8a  1a1")."""

from __future__ import annotations

import re

from service.platform.accents import strip_accents

_NOT_WORD = re.compile(r"[^a-z0-9]+")
# A forward sortation area (FSA), then as much of the local delivery unit as was typed.
_POSTAL = re.compile(r"([a-z]\d[a-z]) ?(\d(?:[a-z]\d?)?)?")
FSA_LENGTH = 3


def normal(text: str) -> str:
    """``text`` in the normal form ("Trois-Rivières" -> "trois rivieres", "K8A1A1" -> "k8a 1a1")."""
    plain = strip_accents(text.casefold())
    words = _NOT_WORD.sub(" ", plain).strip()
    postal = _POSTAL.fullmatch(words)
    if postal:
        return postal.group(1) + (" " + postal.group(2) if postal.group(2) else "")
    return words


def is_postal(key: str) -> bool:
    """Whether a normal form is a postal code or the start of one."""
    return _POSTAL.fullmatch(key) is not None
