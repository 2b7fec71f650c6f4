"""Which IANA zone a schedule's hours are in, from what an HSDS publisher sends.

fieldnav stores the IANA name (hours follow daylight saving time). HSDS 3.0 types a
schedule's ``timezone`` as a number, the UTC offset in hours, which cannot say whether the
clock moves in summer; fieldnav's own output adds the name in ``timezone_name``
(service/hsds/timezones.py), and older files put the name in ``timezone`` itself. In order:

1. ``timezone_name`` when it is an IANA zone (fieldnav's export and API round-trip);
2. ``timezone`` when it is an IANA zone (HSDS 2 files, fieldnav before HSDS 3);
3. ``timezone`` as an offset: the import's default zone when that zone has this offset in
   winter or in summer (a directory's schedules are local, so -5 or -4 in Toronto is
   Toronto, DST included); otherwise the fixed zone ``Etc/GMT±N`` for a whole hour (no
   daylight saving time: said in a row problem, as the publisher could do better);
4. nothing readable: the default zone applies (a row problem, value dropped).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Offsets in use on Earth run from UTC-12 to UTC+14.
OFFSET_RANGE_H = (-12.0, 14.0)


@dataclass(frozen=True)
class ZoneChoice:
    zone_name: str | None  # None: the default zone applies
    problem: str | None = None  # why, when the publisher's value was not used as sent
    action: str = "value dropped"


def _is_zone(name: object) -> bool:
    if not isinstance(name, str) or not name.strip() or name.strip() != name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _offset_h(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        offset_h = float(str(value).strip())
    except ValueError:
        return None
    if not math.isfinite(offset_h) or not OFFSET_RANGE_H[0] <= offset_h <= OFFSET_RANGE_H[1]:
        return None
    return offset_h


@lru_cache(maxsize=64)
def _offsets_h(zone_name: str, year: int) -> frozenset[float]:
    """The zone's offsets in January and July of ``year`` (standard and daylight time)."""
    zone = ZoneInfo(zone_name)
    moments = (datetime(year, 1, 15, 12, tzinfo=zone), datetime(year, 7, 15, 12, tzinfo=zone))
    return frozenset(m.utcoffset().total_seconds() / 3600 for m in moments)  # type: ignore[union-attr]


def _fixed_zone(offset_h: float) -> str | None:
    if offset_h != int(offset_h):
        return None  # no Etc zone for UTC-3:30: the default zone applies, with a problem
    hours = int(offset_h)
    # POSIX signs: Etc/GMT+5 is five hours *behind* UTC.
    return "Etc/UTC" if hours == 0 else f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"


def schedule_zone(timezone: object, timezone_name: object, default_zone: str, year: int) -> ZoneChoice:
    """The zone to store for a schedule row (see the module's docstring for the order)."""
    if _is_zone(timezone_name):
        return ZoneChoice(str(timezone_name))
    choice = _zone_of(timezone, default_zone, year)
    if timezone_name is None or (isinstance(timezone_name, str) and not timezone_name.strip()):
        return choice
    unknown = f"timezone_name {timezone_name!r} is not an IANA time zone"
    return ZoneChoice(choice.zone_name, f"{unknown}; {choice.problem}" if choice.problem else unknown, choice.action)


def _zone_of(timezone: object, default_zone: str, year: int) -> ZoneChoice:
    if timezone is None or (isinstance(timezone, str) and not timezone.strip()):
        return ZoneChoice(None)
    if _is_zone(timezone):
        return ZoneChoice(str(timezone))
    offset_h = _offset_h(timezone)
    if offset_h is None:
        return ZoneChoice(
            None, f"{timezone!r} is neither a UTC offset in hours nor an IANA time zone; the default applies"
        )
    if offset_h in _offsets_h(default_zone, year):
        return ZoneChoice(default_zone)
    fixed = _fixed_zone(offset_h)
    if fixed is None:
        return ZoneChoice(
            None,
            f"UTC offset {offset_h:g} h is not the default zone's ({default_zone}) and has no fixed zone;"
            " send timezone_name (an IANA zone); the default applies",
        )
    return ZoneChoice(
        fixed,
        f"UTC offset {offset_h:g} h is not the default zone's ({default_zone}): read as {fixed}, without daylight"
        " saving time; send timezone_name (an IANA zone) for hours that follow it",
        "value kept",
    )
