"""Which count a result shows, per service and unit: the rule between imports and providers.

A service's count in a unit can come from two places: the last file import
(``service_capacity``, replaced whole by every import of its source) and a provider's live
update (``capacity_live``, which imports never touch). The rule:

    For each unit, the count with the later ``updated`` time wins; on a tie, the live one.

So a file import never overwrites a newer live count with an older count from the file (a
nightly export of yesterday's numbers cannot undo tonight's "0 beds"), and a file that
really is newer (the provider's own system, exported after the last live update) is shown.
A live update older than the count shown is refused (store.py), so what a provider sends
is what everyone sees.

The card of a site carries ``capacities`` (every unit, in the order of
data/capacity_units.yaml) and ``capacity`` (the first of them, for clients that show one
count). ``stale`` is added when a result is served (``with_freshness``): it depends on the
clock, not on the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import overload

from service.capacity.units import display_rank, unit_code
from service.platform.settings import capacity_settings


@dataclass(frozen=True)
class Count:
    unit: str  # a code of data/capacity_units.yaml (or an imported name outside it)
    available: float
    maximum: float | None
    updated: datetime
    origin: str  # "live" or "file"


def file_count(row: dict) -> Count:
    """A ``service_capacity`` row joined with its unit's name (as ``unit``)."""
    return Count(
        unit_code(row["unit"]),
        float(row["available"]),
        None if row["maximum"] is None else float(row["maximum"]),
        row["updated"],
        "file",
    )


def live_count(row: dict) -> Count:
    return Count(
        row["unit"],
        float(row["available"]),
        None if row["maximum"] is None else float(row["maximum"]),
        row["updated"],
        "live",
    )


def effective(counts: list[Count]) -> list[Count]:
    """One count per unit by the rule above, in display order."""
    best: dict[str, Count] = {}
    for count in counts:
        held = best.get(count.unit)
        if held is None or (count.updated, count.origin == "live") > (held.updated, held.origin == "live"):
            best[count.unit] = count
    return sorted(best.values(), key=lambda c: (display_rank(c.unit), c.unit))


def _number(value: float | Decimal | None) -> int | float | None:
    if value is None:
        return None
    value = float(value)
    return int(value) if value.is_integer() else value


def card_entry(count: Count) -> dict:
    return {
        "unit": count.unit,
        "available": _number(count.available),
        "maximum": _number(count.maximum),
        "as_of": count.updated.isoformat(),
        "state": "available" if count.available > 0 else "full",
        "origin": count.origin,
    }


def card_fields(counts: list[Count]) -> dict:
    """``capacity`` and ``capacities`` of a site's card from the service's counts."""
    entries = [card_entry(c) for c in effective(counts)]
    return {"capacity": entries[0] if entries else None, "capacities": entries}


def stale_after() -> timedelta:
    return timedelta(hours=capacity_settings().stale_after_h)


def is_stale(as_of: str | datetime, now: datetime) -> bool:
    moment = datetime.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    return now - moment > stale_after()


@overload
def with_freshness(entry: dict, now: datetime) -> dict: ...
@overload
def with_freshness(entry: None, now: datetime) -> None: ...
def with_freshness(entry: dict | None, now: datetime) -> dict | None:
    """A card's capacity entry as served: with ``stale`` (older than
    FIELDNAV_CAPACITY_STALE_AFTER_H at ``now``)."""
    if entry is None:
        return None
    return {**entry, "stale": is_stale(entry["as_of"], now)}
