"""A service area without a usable extent is matched by its name against the loaded
boundaries (``area_boundary``): exact match of normal forms only, never a similar name.

The normal form (``name_key``): accents stripped, lower case, hyphens, dashes, slashes,
periods and commas read as spaces, spaces collapsed; a postal prefix (FSA, "k8a") or a full
postal code upper case without spaces ("K8A", "K8A1A1"). Then the words that only say what
kind of municipality a name is are dropped, in English and French ("City of Pembroke",
"Town of ...", "Township of ...", "Village of ...", "Municipality of ...", "Ville de ...",
"Canton de ...", "Municipalité de ...": "pembroke"), and the forms of a county, region or
district are put in the usual order ("County of Renfrew", "Comté de Renfrew": "renfrew
county"; "Regional Municipality of Waterloo", "Region of Waterloo": "waterloo region"), so
"City of Pembroke" matches a boundary named "Pembroke" and "County of Renfrew" matches
"Renfrew County", but never the town of Renfrew. Boundaries get the same normal forms
(their name and each alias).

An area whose extent could not be read is matched by its name too (the name is still
information), but only an area without an extent is reported when no boundary matches.

A name whose key is the key of several boundaries (a city and the census division of the
same name) is ambiguous: it stays unknown and is reported, as an unmatched one is.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection, text

from service.platform.accents import strip_accents

_PUNCTUATION = re.compile(r"[\-\u2010-\u2015_/.,;:]+")
_SPACES = re.compile(r"\s+")
_POSTAL = re.compile(r"[A-Z][0-9][A-Z]([0-9][A-Z][0-9])?")

_MUNICIPAL_PREFIX = re.compile(
    r"^(the )?(corporation of the )?(city|town|township|village|hamlet|municipality) of "
    r"|^(ville|cite|canton|village|municipalite) (de la |de l'|de |d'|du |des )"
)
_REORDERED = (
    (re.compile(r"^(?:regional municipality|region) of (.+)$"), "region"),
    (re.compile(r"^(?:municipalite regionale|region) (?:de la |de l'|de |d'|du |des )(.+)$"), "region"),
    (re.compile(r"^united counties of (.+)$"), "united counties"),
    (re.compile(r"^comtes unis (?:de la |de l'|de |d'|du |des )(.+)$"), "united counties"),
    (re.compile(r"^county of (.+)$"), "county"),
    (re.compile(r"^comte (?:de la |de l'|de |d'|du |des )(.+)$"), "county"),
    (re.compile(r"^district of (.+)$"), "district"),
    (re.compile(r"^district (?:de la |de l'|de |d'|du |des )(.+)$"), "district"),
)


def name_key(name: str | None) -> str:
    """The normal form names are matched in ("" for nothing)."""
    if not name:
        return ""
    plain = strip_accents(name).replace("\u2019", "'")
    key = _SPACES.sub(" ", _PUNCTUATION.sub(" ", plain.lower())).strip()
    compact = key.replace(" ", "").upper()
    if _POSTAL.fullmatch(compact):
        return compact
    key = _MUNICIPAL_PREFIX.sub("", key, count=1)
    for pattern, kind in _REORDERED:
        matched = pattern.match(key)
        if matched:
            return f"{matched.group(1)} {kind}"
    return key


def is_postal_prefix(key: str) -> bool:
    return bool(re.fullmatch(r"[A-Z][0-9][A-Z]", key))


@dataclass(frozen=True)
class Unmatched:
    """A named service area no boundary answers (reported once per name)."""

    area_id: uuid.UUID
    source_id: str | None
    name: str
    reason: str


_RESET = """
UPDATE service_area SET geom = NULL, geom_origin = NULL WHERE geom_origin = 'named' AND {where}
"""
_CANDIDATES = """
SELECT id, source_id, name, description, coalesce(btrim(extent), '') <> '' AS had_extent FROM service_area
WHERE geom IS NULL AND (coalesce(btrim(name), '') <> '' OR coalesce(btrim(description), '') <> '') AND {where}
ORDER BY id
"""
_SET_NAMED = text("""
UPDATE service_area a SET geom = b.geom, geom_origin = 'named'
FROM unnest(CAST(:area_ids AS uuid[]), CAST(:boundary_ids AS bigint[])) AS m(area_id, boundary_id)
JOIN area_boundary b ON b.id = m.boundary_id
WHERE a.id = m.area_id
""")


def _where(source: str | None) -> tuple[str, dict]:
    return ("source = :source", {"source": source}) if source is not None else ("true", {})


def boundary_keys(connection: Connection) -> dict[str, list[tuple[int, str]]]:
    """{key: [(boundary id, name)]} over every name and alias loaded."""
    keys: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in connection.execute(text("SELECT id, name, match_keys FROM area_boundary ORDER BY id")):
        for key in row.match_keys:
            keys[key].append((row.id, row.name))
    return keys


def match(connection: Connection, source: str | None = None) -> list[Unmatched]:
    """Give the named service areas of ``source`` (or of every source) the shape of the
    boundary their name (else their description) matches; the rest stay NULL. Returns the
    unmatched names, one per distinct name."""
    where, params = _where(source)
    connection.execute(text(_RESET.format(where=where)), params)
    keys = boundary_keys(connection)
    area_ids: list[uuid.UUID] = []
    boundary_ids: list[int] = []
    unmatched: dict[str, Unmatched] = {}
    for row in connection.execute(text(_CANDIDATES.format(where=where)), params):
        found, reason = None, None
        for value in (row.name, row.description):
            hits = keys.get(name_key(value), []) if value else []
            if len(hits) == 1:
                found = hits[0][0]
                break
            if len(hits) > 1 and reason is None:
                names = ", ".join(sorted({name for _, name in hits}))
                reason = f"named area {value!r} matches {len(hits)} boundaries ({names}): give an extent"
        if found is not None:
            area_ids.append(row.id)
            boundary_ids.append(found)
            continue
        label = (row.name or row.description or "").strip()
        # An area whose extent was bad is reported for its extent already; not twice.
        if not row.had_extent and name_key(label) not in unmatched:
            unmatched[name_key(label)] = Unmatched(
                row.id,
                row.source_id,
                label,
                reason or f"named area {label!r} is not in the boundaries: `fieldnav areas load`",
            )
    if area_ids:
        connection.execute(_SET_NAMED, {"area_ids": area_ids, "boundary_ids": boundary_ids})
    return list(unmatched.values())
