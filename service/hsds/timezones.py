"""HSDS 3.0 types a schedule's ``timezone`` as a number: the UTC offset in hours. fieldnav
stores the IANA name (hours follow daylight saving time), so the offset is the zone's at a
given instant."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def utc_offset_h(zone_name: str, at: datetime) -> float | int:
    """The offset of ``zone_name`` at ``at`` in hours (-5, -4, 5.5); whole hours as ints."""
    offset = at.astimezone(_zone(zone_name)).utcoffset()
    hours = offset.total_seconds() / 3600 if offset is not None else 0.0
    return int(hours) if hours == int(hours) else hours
