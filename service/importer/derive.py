"""Values fieldnav adds to imported rows: map position, H3 cells, category groups and a
per-service content hash (what lets a re-import tell "changed" from "the same")."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from typing import Any

from service.directory.categories import TermRef, groups_for
from service.importer.validate import ValidRows
from spatial.points import H3_RESOLUTIONS, h3_cells, point_ewkt


def add_positions(valid: ValidRows) -> None:
    for row in valid.rows("location").values():
        if row.get("latitude") is None:
            row["geom"] = None
            row.update({f"h3_r{res}": None for res in H3_RESOLUTIONS})
            continue
        lon, lat = float(row["longitude"]), float(row["latitude"])
        row["geom"] = point_ewkt(lon, lat)
        row.update({f"h3_r{res}": cell for res, cell in h3_cells(lon, lat).items()})


def _group_by(rows: dict[uuid.UUID, dict], column: str) -> dict[uuid.UUID, list[dict]]:
    grouped: dict[uuid.UUID, list[dict]] = defaultdict(list)
    for row in rows.values():
        if row.get(column) is not None:
            grouped[row[column]].append(row)
    return grouped


def _public(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("source", "geom") and not k.startswith("h3_")}


def _public_rows(rows: list[dict]) -> list[dict]:
    # Sorted by id so the hash does not change when a source lists rows in another order.
    return [_public(r) for r in sorted(rows, key=lambda r: str(r["id"]))]


def add_categories_and_hashes(valid: ValidRows) -> None:
    """Category groups from the service's taxonomy terms and name, and a hash over
    everything a client sees of the service (its rows and those hanging off it)."""
    terms = valid.rows("taxonomy_term")
    locations = valid.rows("location")
    organizations = valid.rows("organization")
    attributes_by_link = _group_by(valid.rows("attribute"), "link_id")
    by_service = {
        t: _group_by(valid.rows(t), "service_id")
        for t in ("phone", "schedule", "language", "service_area", "service_capacity", "service_at_location")
    }
    by_location = {
        t: _group_by(valid.rows(t), "location_id")
        for t in ("address", "accessibility", "phone", "language", "schedule")
    }
    by_sal = {t: _group_by(valid.rows(t), "service_at_location_id") for t in ("phone", "schedule")}

    for service_id, service in valid.rows("service").items():
        service_terms = [terms[a["taxonomy_term_id"]] for a in attributes_by_link.get(service_id, [])]
        service["category_groups"] = groups_for(
            [TermRef(t.get("code"), t.get("name")) for t in service_terms], [service.get("name")]
        )
        sites: list[dict[str, Any]] = []
        for sal in by_service["service_at_location"].get(service_id, []):
            location_id = sal["location_id"]
            sites.append(
                {
                    "sal": _public(sal),
                    "location": _public(locations[location_id]),
                    **{t: _public_rows(rows.get(location_id, [])) for t, rows in by_location.items()},
                    **{f"sal_{t}": _public_rows(rows.get(sal["id"], [])) for t, rows in by_sal.items()},
                }
            )
        organization_id = service.get("organization_id")
        organization = organizations.get(organization_id) if organization_id is not None else None
        content = {
            "service": _public(service),
            "organization": _public(organization) if organization else None,
            "terms": sorted((t.get("code") or "", t.get("name") or "") for t in service_terms),
            **{
                t: _public_rows(rows.get(service_id, []))
                for t, rows in by_service.items()
                if t != "service_at_location"
            },
            "sites": sorted(sites, key=lambda site: str(site["sal"]["id"])),
        }
        canonical = json.dumps(content, sort_keys=True, default=str)
        service["content_hash"] = hashlib.sha256(canonical.encode()).hexdigest()
