"""The dates and times the API takes: from 1900-01-01 to 2999-12-31.

Python's datetime ends at the year 9999 and begins at the year 1: a date near either end
overflowed in the arithmetic around it (twelve weeks before `until`, a UTC offset, a week's
Monday) and was a 500. No date fieldnav deals in (opening hours, handoffs, the audit log) lies
outside these bounds, so every date or time parameter and body field is checked against them
(service/api/schemas.py's IsoDate and IsoDateTime, a consent's recorded_at, cursors).
"""

from __future__ import annotations

from datetime import date, datetime

from service.platform.problem_texts import field_error

EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)


def in_range(value: date | datetime) -> bool:
    """Whether the calendar date of ``value`` (as written, whatever its offset) is within bounds."""
    day = value.date() if isinstance(value, datetime) else value
    return EARLIEST <= day <= LATEST


def bounded(value):
    """A pydantic after-validator: ``value`` unchanged, or the coded error ``date_out_of_range``."""
    if isinstance(value, (date, datetime)) and not in_range(value):
        raise field_error("date_out_of_range", earliest=EARLIEST.isoformat(), latest=LATEST.isoformat())
    return value
