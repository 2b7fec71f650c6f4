"""Accents off, for the normal forms names are matched in (places: service/places/normal.py;
named service areas: service/areas/matching.py): "Trois-Rivières" and "Trois-Rivieres" are
one name to a worker typing on a phone."""

from __future__ import annotations

import unicodedata


def strip_accents(text: str) -> str:
    """``text`` with its combining marks removed (NFKD: "é" -> "e", "ﬁ" -> "fi")."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
