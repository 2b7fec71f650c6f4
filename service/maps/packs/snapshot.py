"""A pack's services: ``<id>.services.json.gz``, what a phone shows of the area offline.

The gzip of the snapshot JSON ``{"data_version", "generated_at", "bbox", "categories",
"capacity_stale_after_s", "services": [...]}``, one entry per active site: public sites in
the bbox and confidential sites whose coarse position (their H3 r5 cell centre) is in it,
with the category filter, each as ``offline_summary(card, now)`` (the nearest fields plus the
weekly hours rule and the simplified service area, ``serves_area``: what
``/v1/services/nearest`` returns, minus the distance fields). The
manifest's ``services.bytes`` and ``services.sha256`` describe the JSON itself (what a client
has once HTTP decoding is done); it is stored gzipped so it is served compressed with a
strong ETag and byte ranges that stay valid.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from datetime import datetime
from pathlib import Path

import orjson
from sqlalchemy import Connection, text

from service.areas import serves
from service.capacity.merge import stale_after
from service.directory.results import offline_summary
from service.maps.packs.files import temp_path, unlink
from service.maps.packs.plan import PackPlan
from service.maps.packs.request import BBox

_SNAPSHOT_SQL = f"""
SELECT card_json AS card, service_id, location_id, {serves.OFFLINE_AREA_SQL} AS serves_area FROM service_site
WHERE status = 'active' AND NOT is_private
  AND geom && ST_MakeEnvelope(:min_lon, :min_lat, :max_lon, :max_lat, 4326)
  AND (cardinality(CAST(:categories AS text[])) = 0 OR category_groups && CAST(:categories AS text[]))
UNION ALL
SELECT card_json AS card, service_id, location_id, {serves.OFFLINE_AREA_SQL} AS serves_area FROM service_site
WHERE status = 'active' AND is_private
  AND coarse_geom && ST_MakeEnvelope(:min_lon, :min_lat, :max_lon, :max_lat, 4326)
  AND (cardinality(CAST(:categories AS text[])) = 0 OR category_groups && CAST(:categories AS text[]))
ORDER BY service_id, location_id
"""


def snapshot_services(connection: Connection, bbox: BBox, categories: tuple[str, ...], now: datetime) -> list[dict]:
    """The sites a pack carries, as ``/v1/services/nearest`` shows them (minus distance)."""
    params = dict(zip(("min_lon", "min_lat", "max_lon", "max_lat"), bbox, strict=True), categories=list(categories))
    return [offline_summary(row.card, now, row.serves_area) for row in connection.execute(text(_SNAPSHOT_SQL), params)]


def write_snapshot(
    reader: Connection, plan: PackPlan, data_version: int, final: Path, now: datetime
) -> tuple[int, int, str]:
    """Write the snapshot at ``final``; returns (services, bytes of the JSON, its sha256)."""
    services = snapshot_services(reader, plan.bbox, plan.categories, now)
    body = orjson.dumps(
        {
            "data_version": data_version,
            "generated_at": now.isoformat(),
            "bbox": list(plan.bbox),
            "categories": list(plan.categories),
            "capacity_stale_after_s": int(stale_after().total_seconds()),
            "services": services,
        }
    )
    temp = temp_path(final)
    try:
        temp.write_bytes(gzip.compress(body, compresslevel=9, mtime=0))
        os.replace(temp, final)
    except BaseException:
        unlink(temp)
        raise
    return len(services), len(body), hashlib.sha256(body).hexdigest()
