"""When to expect a navigator's call back: a window counted in the centre's open hours.

A centre answers within a target number of *open* hours (per urgency). The window starts
now when the centre is open, else at its next opening, and ends once the target has been
spent in open hours. Hours are local wall-clock intervals per weekday in the centre's time
zone (``{"mon": [[480, 1200]], ...}`` in minutes since midnight; an end past 1440 runs
overnight), or always open.

Pure: plain values in and out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOOKAHEAD_DAYS = 15  # at least two weekly cycles, whatever the target


@dataclass(frozen=True)
class CentreHours:
    timezone: str
    always_open: bool
    weekly: dict[str, list[tuple[int, int]]]  # weekday code -> [start_min, end_min)

    def as_json(self) -> dict:
        return {
            "timezone": self.timezone,
            "always_open": self.always_open,
            "weekly": {day: [list(span) for span in spans] for day, spans in self.weekly.items()},
        }

    @classmethod
    def from_json(cls, data: dict) -> CentreHours:
        return cls(
            data["timezone"],
            bool(data["always_open"]),
            {day: [tuple(span) for span in spans] for day, spans in (data.get("weekly") or {}).items()},
        )


def _open_spans(hours: CentreHours, now: datetime):
    """Open intervals (aware datetimes) from the day before ``now`` on, in order."""
    zone = ZoneInfo(hours.timezone)
    first_day = now.astimezone(zone).date() - timedelta(days=1)  # yesterday's overnight hours reach today
    for offset in range(LOOKAHEAD_DAYS + 1):
        day = first_day + timedelta(days=offset)
        midnight = datetime(day.year, day.month, day.day)
        for start_min, end_min in sorted(hours.weekly.get(WEEKDAYS[day.weekday()], [])):
            start = (midnight + timedelta(minutes=start_min)).replace(tzinfo=zone)
            end = (midnight + timedelta(minutes=end_min)).replace(tzinfo=zone)
            yield start, end


def callback_window(hours: CentreHours, target_h: float, now: datetime) -> tuple[datetime, datetime] | None:
    """(earliest, latest) of the expected callback, or None when the centre has no open
    hours in the next two weeks."""
    if hours.always_open:
        return now, now + timedelta(hours=target_h)
    remaining = timedelta(hours=target_h)
    earliest = None
    for start, end in _open_spans(hours, now):
        if end <= now:
            continue
        start = max(start, now)
        if earliest is None:
            earliest = start
        if end - start >= remaining:
            return earliest, start + remaining
        remaining -= end - start
    return None


def parse_hours(data: dict | str) -> CentreHours:
    """Hours from a centres file: ``"24/7"``, or ``{"timezone": ..., "always_open": true}``, or
    ``{"timezone": ..., "weekly": {"mon": ["08:00-20:00"], ...}}``. Raises ValueError."""
    if data == "24/7":
        return CentreHours("America/Toronto", True, {})
    if not isinstance(data, dict):
        raise ValueError('hours must be "24/7" or an object with timezone and weekly')
    timezone = data.get("timezone", "America/Toronto")
    try:
        ZoneInfo(timezone)
    except Exception:  # noqa: BLE001 - any failure means an unknown zone
        raise ValueError(f"unknown time zone {timezone!r}") from None
    if data.get("always_open"):
        return CentreHours(timezone, True, {})
    weekly_in = data.get("weekly")
    if not isinstance(weekly_in, dict) or not weekly_in:
        raise ValueError('hours.weekly must map weekdays (mon..sun) to spans like "08:00-20:00"')
    weekly: dict[str, list[tuple[int, int]]] = {}
    for day, spans in weekly_in.items():
        if day not in WEEKDAYS:
            raise ValueError(f"hours.weekly: unknown weekday {day!r} (use {', '.join(WEEKDAYS)})")
        if isinstance(spans, str):
            spans = [spans]
        weekly[day] = [_parse_span(span, day) for span in spans]
    if not any(weekly.values()):
        raise ValueError("hours.weekly has no open hours")
    return CentreHours(timezone, False, weekly)


def _minutes(text: str) -> int:
    hh, _, mm = text.strip().partition(":")
    if not (hh.isdigit() and mm.isdigit() and len(mm) == 2):
        raise ValueError
    value = int(hh) * 60 + int(mm)
    if int(mm) >= 60 or value > 24 * 60:
        raise ValueError
    return value


def _parse_span(span: str, day: str) -> tuple[int, int]:
    try:
        start_text, end_text = span.split("-")
        start_min, end_min = _minutes(start_text), _minutes(end_text)
    except (ValueError, AttributeError):
        raise ValueError(f'hours.weekly.{day}: {span!r} is not a span like "08:00-20:00"') from None
    if end_min <= start_min:
        end_min += 24 * 60  # closes after midnight
    return start_min, end_min
