"""Turn source values (CSV text or JSON scalars) into typed column values.

Each parser returns the typed value or raises ``ValueError`` with a reason a data
steward can act on. Empty strings and None both mean "no value".
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from service.importer.fields import BOOL, DATE, DATETIME, INT, NUM, TEXT, TIME, UUID

# Namespace for ids mapped from non-UUID source ids: uuid5(NS, "source/table/id").
# Never change it: every stored id of a non-HSDS-3 source depends on it.
ID_NAMESPACE = uuid.UUID("6c1f4a5e-3b0d-5f43-9b4c-2f8d1e7a9c10")


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def stable_id(source: str, table: str, original_id: object) -> uuid.UUID:
    """The UUID for a record: the source's own UUID, else uuid5 over (source, table, id)."""
    text = str(original_id).strip()
    try:
        return uuid.UUID(text)
    except ValueError:
        return uuid.uuid5(ID_NAMESPACE, f"{source}/{table}/{text}")


def parse_text(value) -> str:
    text = str(value).strip()
    if "\x00" in text:
        raise ValueError("contains a NUL character")
    return text


def parse_int(value) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a whole number")
    if isinstance(value, int):
        return value
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a whole number") from None
    if number != number.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number")
    return int(number)


def parse_num(value) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def parse_date(value) -> date:
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 else date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (expected YYYY-MM-DD)") from None


def parse_datetime(value) -> datetime:
    text = str(value).strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset (expected e.g. 2024-05-01T09:00:00-04:00)")
    return parsed


# 24-hour "HH:MM[:SS]" (HSDS 3) and the 12-hour forms older 211 exports use
# ("9:00am", "9am", "12:00 pm", "830am", "9:00a").
_TIME_24 = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_TIME_12 = re.compile(r"^(\d{1,2})(?::?(\d{2}))?\s*([ap])\.?\s*m?\.?$", re.I)


def parse_time(value) -> time:
    text = str(value).strip().lower()
    if text in ("noon", "12 noon", "12:00 noon"):
        return time(12, 0)
    if text == "midnight":
        return time(0, 0)
    match = _TIME_24.match(text)
    if match:
        hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
        if hour == 24 and minute == 0 and second == 0:
            return time(0, 0)  # "24:00" closes at midnight: same as 00:00 in our convention
        if hour < 24 and minute < 60 and second < 60:
            return time(hour, minute, second)
        raise ValueError(f"{value!r} is not a time of day")
    match = _TIME_12.match(text)
    if match:
        hour, minute = int(match[1]), int(match[2] or 0)
        if 1 <= hour <= 12 and minute < 60:
            hour = hour % 12 + (12 if match[3] == "p" else 0)
            return time(hour, minute)
    raise ValueError(f"{value!r} is not a time of day (expected HH:MM, 24-hour)")


def parse_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "t", "yes", "y", "1"):
        return True
    if text in ("false", "f", "no", "n", "0"):
        return False
    raise ValueError(f"{value!r} is not true or false")


PARSERS = {
    TEXT: parse_text,
    INT: parse_int,
    NUM: parse_num,
    DATE: parse_date,
    DATETIME: parse_datetime,
    TIME: parse_time,
    BOOL: parse_bool,
}


def parse(kind: str, value):
    """Typed value for a non-UUID column, or None for blank input."""
    if is_blank(value):
        return None
    if kind == UUID:
        raise AssertionError("ids are mapped by the validator, which knows the source")
    return PARSERS[kind](value)
