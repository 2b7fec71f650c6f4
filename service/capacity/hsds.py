"""A service's counts as HSDS 3.1 ``service_capacity`` objects (the compiled service of
``GET /v1/services/{id}``), by the same rule as results (merge.py): per unit, the imported
object when it is the newer count, else the provider's live count in the same shape."""

from __future__ import annotations

import uuid

from service.capacity.merge import effective, file_count, live_count
from service.capacity.units import unit_code

# uuid5 namespace of the ids given to live counts and their units (stable: a live count keeps
# its id across updates, as an HSDS record of the same thing should).
_NAMESPACE = uuid.UUID("6f0c5a43-3b1e-5d8e-9a61-2c4b7e9f1d05")


def live_unit(code: str) -> dict:
    return {
        "id": str(uuid.uuid5(_NAMESPACE, f"unit:{code}")),
        "name": code,
        "scheme": "fieldnav",
        "identifier": code,
        "uri": None,
    }


def hsds_capacities(service_id: uuid.UUID, imported: list[dict], live_rows: list[dict]) -> list[dict]:
    """``imported``: the service's service_capacity objects with their ``unit`` object;
    ``live_rows``: its capacity_live rows."""
    newest_imported: dict[str, dict] = {}
    for record in imported:
        code = unit_code((record.get("unit") or {}).get("name"))
        held = newest_imported.get(code)
        if held is None or record["updated"] > held["updated"]:
            newest_imported[code] = record
    counts = [file_count({**r, "unit": (r.get("unit") or {}).get("name")}) for r in newest_imported.values()]
    counts += [live_count(r) for r in live_rows]
    shown = []
    for count in effective(counts):
        if count.origin == "file":
            shown.append(newest_imported[count.unit])
            continue
        unit = live_unit(count.unit)
        shown.append(
            {
                "id": str(uuid.uuid5(_NAMESPACE, f"capacity:{service_id}:{count.unit}")),
                "service_id": service_id,
                "unit_id": unit["id"],
                "available": int(count.available),
                "maximum": None if count.maximum is None else int(count.maximum),
                "description": None,
                "updated": count.updated,
                "unit": unit,
            }
        )
    return shown
