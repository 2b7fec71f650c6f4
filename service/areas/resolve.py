"""What an import runs after writing a source's rows and before rebuilding its sites: read
its extents and match its named areas (the sites then take their ``serves_geom`` from
them as they are inserted: service/areas/serves.py), and say what went wrong as import
problems.

Problems are placed at the row the area was read from when the import knows it
(``origins``: the HSDS id of each service area, as the reader found it); a bad extent is
"value dropped" (the area is kept, its shape unknown unless its name matches a boundary),
an unmatched name "value kept" and reported once per name: the data is not wrong, the
boundaries are missing. Neither refuses a ``--strict`` import: HSDS's ``extent`` is free
text, so the row is valid HSDS; fieldnav only cannot use it as a shape (and the problems
are found after the rows are written, in the import's transaction).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection

from service.areas import extents, matching, serves
from service.importer.records import Origin, RowProblem, SourceData

# Where a problem goes when the import cannot say which row the area came from.
UNPLACED = Origin("service_area", 0)


def origins_of(data: SourceData, row_shift: int = 0) -> dict[str, Origin]:
    """{HSDS id of a service area: where it was read}; ``row_shift`` moves the row numbers
    (a pull's chunk: its record numbers to spool lines)."""
    found: dict[str, Origin] = {}
    for raw in data.rows.get("service_area", []):
        original = raw.values.get("id")
        if original is None or not str(original).strip():
            continue
        origin = raw.origin
        found.setdefault(str(original).strip(), Origin(origin.file, origin.row + row_shift, origin.path))
    return found


def _problem(origin: Origin, reason: str, action: str) -> RowProblem:
    return RowProblem(
        origin.file, origin.row, origin.field_name("extent" if action == "value dropped" else "name"), reason, action
    )


def resolve_source(connection: Connection, source: str, origins: Mapping[str, Origin]) -> list[RowProblem]:
    """Extents and names of one source, in the import's transaction, before its sites are rebuilt."""
    problems = []
    for bad in extents.parse(connection, source):
        origin = origins.get(bad.source_id or "", UNPLACED)
        label = "" if origin is not UNPLACED else f" (service area {bad.source_id or bad.name or bad.area_id})"
        problems.append(_problem(origin, f"extent {bad.reason}{label}", "value dropped"))
    for unmatched in matching.match(connection, source):
        problems.append(_problem(origins.get(unmatched.source_id or "", UNPLACED), unmatched.reason, "value kept"))
    return sorted(problems, key=lambda p: (p.file, p.row, p.field))


def resolve_all(connection: Connection) -> tuple[int, list[matching.Unmatched]]:
    """Every source's extents, names and sites (migration 0022). Returns (bad extents, unmatched names)."""
    bad = extents.parse(connection)
    unmatched = matching.match(connection)
    serves.recompute(connection)
    return len(bad), unmatched
