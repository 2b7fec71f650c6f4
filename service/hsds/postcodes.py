"""Postcodes for the HSDS ``postcode`` and ``proximity`` parameters: the normal form, and the
point a postcode stands for (the centroid of the public sites whose address has it)."""

from __future__ import annotations

import re

from sqlalchemy import Connection, text

from service.platform.problem_texts import field_problem
from service.platform.problems import Problem

_POSTCODE = re.compile(r"[A-Z0-9]{2,10}")

# An address's postcode in the normal form, in SQL (``{address}``: the address table's alias).
NORMAL_SQL = "upper(translate(coalesce({address}.postal_code, ''), ' -', ''))"

# Confidential sites never place a postcode: their exact point would pull the centroid.
_CENTROID = text(f"""
    SELECT ST_Y(c) AS lat, ST_X(c) AS lon FROM (
        SELECT ST_Centroid(ST_Collect(l.geom)) AS c
        FROM location l JOIN address a ON a.location_id = l.id
        WHERE NOT l.address_private AND l.geom IS NOT NULL AND {NORMAL_SQL.format(address="a")} LIKE :prefix
    ) centre WHERE c IS NOT NULL
""")


def normal_postcode(value: str) -> str:
    """``value`` in upper case without spaces or dashes ("m5v 3l9" -> "M5V3L9"); 422 when it
    cannot be a postcode (2 to 10 letters and digits)."""
    postcode = value.upper().replace(" ", "").replace("-", "")
    if not _POSTCODE.fullmatch(postcode):
        raise Problem(
            422,
            "validation-error",
            "postcode must be a postal or zip code: 2 to 10 letters and digits.",
            detail_fr="postcode doit être un code postal : de 2 à 10 lettres et chiffres.",
            errors=[field_problem("query.postcode", "postcode_invalid")],
        )
    return postcode


def postcode_centroid(connection: Connection, postcode: str) -> tuple[float, float]:
    """(lat, lon) of the postcode (a prefix such as "M5V" covers its area); 422 when no public
    site has it: there is no centre to measure ``proximity`` from."""
    row = connection.execute(_CENTROID, {"prefix": postcode + "%"}).first()
    if row is None:
        raise Problem(
            422,
            "validation-error",
            f"No site in the directory has the postcode {postcode}: proximity cannot be measured from it.",
            detail_fr=f"Aucun lieu du répertoire n’a le code postal {postcode} : impossible d’y mesurer proximity.",
            errors=[field_problem("query.postcode", "postcode_unknown")],
        )
    return row.lat, row.lon
