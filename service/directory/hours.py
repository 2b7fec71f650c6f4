"""Opening hours from HSDS 3 schedule rows: weekly intervals, dated open ranges, and "open now".

Hours are local wall-clock time in the schedule's time zone; a *week minute* counts minutes
since Monday 00:00 local time, in [0, WEEK_MINUTES). Intervals are half-open [start_min,
end_min): open at the opening minute, closed at the closing one.

A site whose rules are all plain weekly patterns (valid over the whole horizon) keeps
`week_intervals`, which never expire. Any other rule (MONTHLY, YEARLY, ordinals, month days,
an interval, count, until, dtstart, or a valid_from/valid_to that falls inside the horizon)
turns the site's hours into *open ranges*: the concrete openings of the next HORIZON_DAYS days
as UTC epoch-minute pairs, found with dateutil.rrule; past the horizon they are unknown.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil import rrule as rr

DAY_MINUTES = 24 * 60
WEEK_MINUTES = 7 * DAY_MINUTES

WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # index == date.weekday()
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# RFC 5545 BYDAY part: optional ordinal ("1MO", "-1FR"), meaningful only for MONTHLY/YEARLY.
_BYDAY_PART = re.compile(r"^[+-]?\d{0,2}(MO|TU|WE|TH|FR|SA|SU)$")

# Frequencies that describe a plain weekly pattern. DAILY with BYDAY is the same as WEEKLY
# with BYDAY (RFC 5545 limits DAILY by BYDAY); without BYDAY it is every day.
_WEEKLY_FREQS = {"", "WEEKLY", "DAILY"}

Interval = tuple[int, int]


@dataclass(frozen=True)
class ScheduleRule:
    """The parts of an HSDS schedule row the hours engine uses (RFC 5545 names)."""

    freq: str | None
    byday: str | None
    opens_at: time | None
    closes_at: time | None
    valid_from: date | None = None
    valid_to: date | None = None
    dtstart: date | None = None
    until: date | None = None
    count: int | None = None
    interval: int | None = None
    bymonthday: str | None = None
    byweekno: str | None = None
    byyearday: str | None = None
    wkst: str | None = None


# --------------------------------------------------------------------------- rules -> intervals


def weekly_intervals(rules: Iterable[ScheduleRule], *, on: date | None = None) -> list[Interval] | None:
    """Sorted, merged, non-overlapping [start, end) week-minute intervals; None if hours are unknown.

    Rules outside their valid_from..valid_to window (inclusive) on `on` are left out. A rule
    is usable when it is weekly (freq WEEKLY, DAILY or empty) and has days, times, or both.
    """
    intervals: list[Interval] = []
    usable = False
    for rule in rules:
        if on is not None and not _valid_on(rule, on):
            continue
        rule_intervals = _rule_intervals(rule)
        if rule_intervals is None:
            continue
        usable = True
        intervals.extend(rule_intervals)
    if not usable:
        return None
    return _merge(intervals)


def _valid_on(rule: ScheduleRule, day: date) -> bool:
    if rule.valid_from is not None and day < rule.valid_from:
        return False
    return rule.valid_to is None or day <= rule.valid_to


def _rule_intervals(rule: ScheduleRule) -> list[Interval] | None:
    """Week-minute intervals of one rule, or None when the rule says nothing usable."""
    if (rule.freq or "").strip().upper() not in _WEEKLY_FREQS:
        return None  # MONTHLY "2MO" etc. cannot be expressed as a weekly pattern
    weekdays = _parse_byday(rule.byday)
    if weekdays == []:
        return None  # byday given but unreadable: don't guess "every day"
    has_times = rule.opens_at is not None and rule.closes_at is not None
    if weekdays is None and not has_times:
        return None
    if (rule.opens_at is None) != (rule.closes_at is None):
        return None  # half a time range: the hours are not known
    day_span = (
        _day_span_minutes(rule.opens_at, rule.closes_at)
        if rule.opens_at is not None and rule.closes_at is not None  # has_times, narrowed
        else (0, DAY_MINUTES)
    )
    intervals: list[Interval] = []
    for weekday in weekdays if weekdays is not None else range(7):
        intervals.extend(_wrap(weekday * DAY_MINUTES + day_span[0], weekday * DAY_MINUTES + day_span[1]))
    return intervals


def _parse_byday(byday: str | None) -> list[int] | None:
    """Weekday indexes (Monday 0) of a BYDAY string; None if absent, [] if nothing readable."""
    if byday is None or not byday.strip():
        return None
    weekdays = set()
    for part in byday.split(","):
        match = _BYDAY_PART.match(re.sub(r"\s+", "", part).upper())
        if match:
            weekdays.add(WEEKDAY_CODES.index(match.group(1)))
    return sorted(weekdays)


def _day_span_minutes(opens_at: time, closes_at: time) -> Interval:
    """[start, end) minutes from the opening day's midnight; end may pass 1440 (overnight)."""
    start_min = opens_at.hour * 60 + opens_at.minute  # floor: seconds of an opening are noise
    # ceil: a close at 23:59:59 means "until midnight", and the closing second must be inside.
    end_min = closes_at.hour * 60 + closes_at.minute + (1 if closes_at.second or closes_at.microsecond else 0)
    if start_min == 0 and end_min == 0:
        return (0, DAY_MINUTES)  # 00:00-00:00 is the conventional "all day"
    if end_min <= start_min:
        end_min += DAY_MINUTES  # closes after midnight, on the next day
    return (start_min, end_min)


def _wrap(start_min: int, end_min: int) -> list[Interval]:
    """Split an interval that runs past Sunday 24:00 into its end-of-week and start-of-week parts."""
    if end_min <= WEEK_MINUTES:
        return [(start_min, end_min)]
    return [(start_min, WEEK_MINUTES), (0, min(end_min - WEEK_MINUTES, WEEK_MINUTES))]


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort and join overlapping or touching intervals."""
    merged: list[list[int]] = []
    for start_min, end_min in sorted(intervals):
        if merged and start_min <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end_min)
        else:
            merged.append([start_min, end_min])
    return [(start_min, end_min) for start_min, end_min in merged]


def _normalize(intervals: Iterable[Interval]) -> list[Interval]:
    """Defensive clean-up of caller-supplied intervals: clamp, wrap, drop empties, merge."""
    cleaned: list[Interval] = []
    for start_min, end_min in intervals:
        start_min, end_min = max(0, int(start_min)), int(end_min)
        if start_min >= WEEK_MINUTES or end_min <= start_min:
            continue
        cleaned.extend(_wrap(start_min, min(end_min, start_min + WEEK_MINUTES)))
    return _merge(cleaned)


def is_always_open(intervals: Iterable[Interval] | None) -> bool:
    """True when the intervals cover the whole week (24/7)."""
    return intervals is not None and _normalize(intervals) == [(0, WEEK_MINUTES)]


# --------------------------------------------------------------------------- rules -> open ranges

HORIZON_DAYS = 35  # open ranges cover this many local days from the day they are built

_RRULE_FREQS: dict[str, Literal[0, 1, 2, 3, 4, 5, 6]] = {
    "DAILY": rr.DAILY,
    "WEEKLY": rr.WEEKLY,
    "MONTHLY": rr.MONTHLY,
    "YEARLY": rr.YEARLY,
}
_ORDINAL_FREQS = {"MONTHLY", "YEARLY"}  # RFC 5545: "1WE", "-1FR" mean something only there
_RRULE_WEEKDAYS = (rr.MO, rr.TU, rr.WE, rr.TH, rr.FR, rr.SA, rr.SU)
_BYDAY_ORDINAL = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")

Range = tuple[int, int]  # [start, end) in minutes since 1970-01-01 00:00 UTC


@dataclass(frozen=True)
class SiteHours:
    """A site's hours: weekly intervals (plain weekly rules) or open ranges (any other rule).

    `open_ranges` is {"from_min", "until_min", "ranges"}: UTC epoch minutes; what lies
    outside [from_min, until_min) is unknown. Both None: hours unknown.
    """

    week_intervals: list[Interval] | None
    open_ranges: dict | None


def site_hours(rules: Iterable[ScheduleRule], tz: str, today: date, *, horizon_days: int = HORIZON_DAYS) -> SiteHours:
    """The hours of a site from its schedule rules, built on date `today`.

    The horizon starts the day before `today`: the server's date may be a day ahead of the
    site's local one.
    """
    first_day, last_day = today - timedelta(days=1), today + timedelta(days=horizon_days - 1)
    active = [
        rule
        for rule in rules
        if (rule.valid_to is None or rule.valid_to >= first_day)
        and (rule.valid_from is None or rule.valid_from <= last_day)
    ]
    if all(_plain_weekly(rule, first_day, last_day) for rule in active):
        return SiteHours(weekly_intervals(active), None)
    return SiteHours(None, open_ranges(active, tz, first_day, horizon_days=horizon_days + 1))


def depends_on_date(rules: Iterable[ScheduleRule], today: date) -> bool:
    """True when the hours `site_hours` builds on `today` may differ when built on a later day:
    open ranges (they cover a horizon from the day they are built), or a weekly rule that
    starts or ends some day (it will move into, or out of, the horizon)."""
    first_day = today - timedelta(days=1)
    return not all(
        _plain_weekly(rule, first_day, date.max)
        for rule in rules
        if rule.valid_to is None or rule.valid_to >= first_day  # over for good: never read again
    )


def _plain_weekly(rule: ScheduleRule, first_day: date, last_day: date) -> bool:
    """True when the rule is the same every week over [first_day, last_day]."""
    byday = _parse_rrule_byday(rule.byday)
    return (
        (rule.freq or "").strip().upper() in _WEEKLY_FREQS
        and (rule.interval is None or rule.interval == 1)
        and rule.count is None
        and not (rule.bymonthday or rule.byweekno or rule.byyearday)
        and (byday is None or all(ordinal is None for _, ordinal in byday))
        and all(start is None or start <= first_day for start in (rule.dtstart, rule.valid_from))
        and all(end is None or end >= last_day for end in (rule.until, rule.valid_to))
    )


def open_ranges(
    rules: Iterable[ScheduleRule], tz: str, first_day: date, *, horizon_days: int = HORIZON_DAYS
) -> dict | None:
    """Concrete openings over local days [first_day, first_day + horizon_days); None if unknown.

    An opening belongs to the local day it starts on (an overnight one runs into the next
    day). Wall-clock times become instants the way the weekly engine reads them: an opening
    or closing in a spring-forward gap moves to the end of the gap; in a fall-back hour an
    opening takes the first occurrence and a closing the second.
    """
    zone = ZoneInfo(tz)
    end_day = first_day + timedelta(days=horizon_days)
    from_min = _utc_minute(datetime.combine(first_day, time()), zone, fold=0)
    until_min = _utc_minute(datetime.combine(end_day, time()), zone, fold=0)
    ranges: list[Range] = []
    usable = False
    for rule in rules:
        # From the day before: yesterday's overnight opening may still be open.
        days = occurrence_days(rule, first_day - timedelta(days=1), end_day - timedelta(days=1))
        span = _rule_day_span(rule)
        if days is None or span is None:
            continue
        usable = True
        for day in days:
            midnight = datetime.combine(day, time())
            start_min = _utc_minute(midnight + timedelta(minutes=span[0]), zone, fold=0)
            end_min = _utc_minute(midnight + timedelta(minutes=span[1]), zone, fold=1)
            if end_min > max(start_min, from_min):
                ranges.append((start_min, end_min))
    if not usable:
        return None
    return {"from_min": from_min, "until_min": until_min, "ranges": [list(r) for r in _merge(ranges)]}


def _rule_day_span(rule: ScheduleRule) -> Interval | None:
    if (rule.opens_at is None) != (rule.closes_at is None):
        return None  # half a time range: the hours are not known
    if rule.opens_at is None or rule.closes_at is None:
        return (0, DAY_MINUTES)
    return _day_span_minutes(rule.opens_at, rule.closes_at)


def occurrence_days(rule: ScheduleRule, first_day: date, last_day: date) -> list[date] | None:
    """Local dates in [first_day, last_day] on which the rule opens; None when it says nothing usable.

    fieldnav's readings where RFC 5545 leaves a choice: an empty freq is WEEKLY; WEEKLY or
    DAILY without BYDAY is every day (as the weekly engine has it); a rule whose phase
    cannot be known without a start (interval > 1, count, MONTHLY/YEARLY with no BY part)
    needs dtstart (or valid_from); a dtstart that does not match the rule is not itself an
    occurrence (dateutil's reading); until and valid_to are inclusive dates.
    """
    freq = (rule.freq or "").strip().upper() or "WEEKLY"
    if freq not in _RRULE_FREQS:
        return None  # HOURLY and finer are not opening hours
    byday = _parse_rrule_byday(rule.byday)
    numbers = [_parse_ints(value) for value in (rule.bymonthday, rule.byweekno, rule.byyearday)]
    if byday == [] or any(n == [] for n in numbers):
        return None  # given but unreadable: don't guess
    bymonthday, byweekno, byyearday = numbers
    has_by_part = byday is not None or any(n is not None for n in numbers)
    if rule.opens_at is None and rule.closes_at is None and not has_by_part:
        return None
    interval = 1 if rule.interval is None else rule.interval
    if interval < 1 or (rule.count is not None and rule.count < 1):
        return None
    anchor = rule.dtstart or rule.valid_from
    needs_anchor = interval > 1 or rule.count is not None or (freq in _ORDINAL_FREQS and not has_by_part)
    if anchor is None:
        if needs_anchor:
            return None
        anchor = first_day
    weekdays = None
    if byday is not None:
        weekdays = [
            _RRULE_WEEKDAYS[day](ordinal) if ordinal is not None and freq in _ORDINAL_FREQS else _RRULE_WEEKDAYS[day]
            for day, ordinal in byday
        ]
    elif freq == "WEEKLY" or (freq == "DAILY" and not has_by_part):
        weekdays = list(_RRULE_WEEKDAYS)
    wkst = (rule.wkst or "").strip().upper()
    try:
        recurrence = rr.rrule(
            _RRULE_FREQS[freq],
            dtstart=datetime.combine(anchor, time()),
            interval=interval,
            wkst=WEEKDAY_CODES.index(wkst) if wkst in WEEKDAY_CODES else None,
            count=rule.count,
            byweekday=weekdays,
            bymonthday=bymonthday,
            byweekno=byweekno,
            byyearday=byyearday,
            cache=False,
        )
    except ValueError:
        return None
    low = max(d for d in (first_day, rule.valid_from) if d is not None)
    high = min(d for d in (last_day, rule.valid_to, rule.until) if d is not None)
    if low > high:
        return []
    return [
        moment.date()
        for moment in recurrence.between(datetime.combine(low, time()), datetime.combine(high, time()), inc=True)
    ]


def _parse_rrule_byday(byday: str | None) -> list[tuple[int, int | None]] | None:
    """(weekday index, ordinal or None) of a BYDAY string; None if absent, [] if unreadable."""
    if byday is None or not byday.strip():
        return None
    parts = []
    for part in byday.split(","):
        match = _BYDAY_ORDINAL.match(re.sub(r"\s+", "", part).upper())
        if match is None:
            continue
        ordinal = int(match.group(1)) if match.group(1) else None
        if ordinal == 0 or (ordinal is not None and abs(ordinal) > 53):
            continue
        parts.append((WEEKDAY_CODES.index(match.group(2)), ordinal))
    return parts


def _parse_ints(value: str | None) -> list[int] | None:
    """Non-zero integers of a comma-separated BY part; None if absent, [] if unreadable."""
    if value is None or not value.strip():
        return None
    numbers = []
    for part in value.split(","):
        try:
            number = int(part.strip())
        except ValueError:
            continue
        if number != 0 and abs(number) <= 366:
            numbers.append(number)
    return numbers


def _utc_minute(wall: datetime, zone: ZoneInfo, *, fold: int) -> int:
    """UTC epoch minute of a naive local wall time; a time in a gap is the end of the gap."""
    candidate = wall.replace(tzinfo=zone, fold=fold)
    if not _exists(candidate):
        candidate = _end_of_gap(wall, zone)
    return int(candidate.timestamp()) // 60


# --------------------------------------------------------------------------- clock


def week_minute(moment: datetime, tz: str) -> int:
    """Minutes since Monday 00:00 of `moment`'s local wall time in `tz`; moment must be aware."""
    local = _local(moment, ZoneInfo(tz))
    return local.weekday() * DAY_MINUTES + local.hour * 60 + local.minute


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(zone)


def _to_aware(wall: datetime, zone: ZoneInfo, not_before: datetime) -> datetime:
    """The instant a local wall-clock time names, never before `not_before`.

    Ambiguous (fall-back) times take the first occurrence (fold=0) unless it is already past;
    nonexistent (spring-forward gap) times move forward to the first valid instant.
    """
    for fold in (0, 1):
        candidate = wall.replace(tzinfo=zone, fold=fold)
        # Compare in UTC: aware datetimes sharing a tzinfo compare by wall time, ignoring fold.
        if _exists(candidate) and candidate.astimezone(UTC) >= not_before.astimezone(UTC):
            return candidate
    if not _exists(wall.replace(tzinfo=zone)):
        return _end_of_gap(wall, zone)
    return wall.replace(tzinfo=zone)


def _exists(candidate: datetime) -> bool:
    round_trip = candidate.astimezone(UTC).astimezone(candidate.tzinfo)
    return round_trip.replace(tzinfo=None) == candidate.replace(tzinfo=None)


def _end_of_gap(wall: datetime, zone: ZoneInfo) -> datetime:
    """First instant whose local wall time is at or after a nonexistent `wall` (the transition)."""
    # fold=0 reads the gap with the old offset, fold=1 with the new: the transition lies between.
    utc_a = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    utc_b = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low_s, high_s = sorted((int(utc_a.timestamp()), int(utc_b.timestamp())))
    while low_s < high_s:  # smallest second whose wall time has reached `wall`
        mid_s = (low_s + high_s) // 2
        mid_wall = datetime.fromtimestamp(mid_s, zone).replace(tzinfo=None)
        if mid_wall >= wall:
            high_s = mid_s
        else:
            low_s = mid_s + 1
    return datetime.fromtimestamp(low_s, zone)


# --------------------------------------------------------------------------- status


@dataclass(frozen=True)
class OpenStatus:
    state: str  # "open" | "closed" | "unknown"
    always_open: bool  # 24/7
    label: str  # "Open · closes 22:00", "Closed · opens Mon 09:00", "Open 24/7", "Hours unknown"
    closes_at: str | None  # ISO 8601 with offset of the next close, while open (not 24/7)
    opens_at: str | None  # ISO 8601 with offset of the next opening, while closed
    next_change: str | None  # "closes 22:00", "opens Mon 09:00", "24/7", "hours unknown"
    today: list[str] = field(default_factory=list)  # ["09:00–17:00"], overnight "20:00–08:00"


def open_status(
    intervals: list[Interval] | None, tz: str, now: datetime, open_ranges: dict | None = None
) -> OpenStatus:
    """Open/closed state at `now` (aware) for weekly intervals, or else open ranges, in time zone `tz`."""
    zone = ZoneInfo(tz)
    local_now = _local(now, zone)
    if intervals is None and open_ranges is not None:
        return _range_status(open_ranges, zone, local_now)
    if intervals is None:
        return OpenStatus("unknown", False, "Hours unknown", None, None, "hours unknown", [])
    if is_always_open(intervals):
        return OpenStatus("open", True, "Open 24/7", None, None, "24/7", ["00:00–24:00"])

    runs = _unrolled_runs(_normalize(intervals))
    now_min = local_now.weekday() * DAY_MINUTES + local_now.hour * 60 + local_now.minute
    today = _today_hours(runs, local_now.weekday() * DAY_MINUTES)
    current = next((run for run in runs if run[0] <= now_min < run[1]), None)
    if current is not None:
        closes = _instant_at(current[1], local_now, zone)
        change = f"closes {_when(closes, local_now)}"
        return OpenStatus("open", False, f"Open · {change}", _iso(closes), None, change, today)

    next_start_min = min((start_min for start_min, _ in runs if start_min > now_min), default=None)
    if next_start_min is None:  # empty week: no opening ever
        return OpenStatus("closed", False, "Closed", None, None, None, today)
    opens = _instant_at(next_start_min, local_now, zone)
    change = f"opens {_when(opens, local_now)}"
    return OpenStatus("closed", False, f"Closed · {change}", None, _iso(opens), change, today)


# Sites share schedules, and a status reads the clock to the minute only: nearest shaped
# ten statuses per answer, 14% of a worker's time under load (bench/README.md, issue 21).
_STATUS_MEMORY = 8192  # (schedule, zone, minute) triples remembered per process


def open_status_now(
    intervals: Iterable[Iterable[int]] | None, tz: str, now: datetime, open_ranges: dict | None = None
) -> OpenStatus:
    """``open_status``, remembered per (schedule, time zone, minute). The same answer: every
    test of ``now`` in it is to the minute (week minutes, epoch minutes, dates; offsets are
    whole minutes), which tests/test_hours.py checks across the DST days."""
    intervals_key = None if intervals is None else tuple((int(a), int(b)) for a, b in intervals)
    ranges_key = (
        None
        if open_ranges is None
        else (open_ranges["from_min"], open_ranges["until_min"], tuple((a, b) for a, b in open_ranges["ranges"]))
    )
    # The minute in UTC: a local time of the fall-back night names two instants (fold), and
    # equal local times compare equal whatever their fold.
    minute = now.astimezone(UTC).replace(second=0, microsecond=0)
    return _remembered_status(intervals_key, tz, minute, ranges_key)


@lru_cache(maxsize=_STATUS_MEMORY)
def _remembered_status(
    intervals: tuple[Interval, ...] | None,
    tz: str,
    minute: datetime,
    ranges_key: tuple[int, int, tuple[tuple[int, int], ...]] | None,
) -> OpenStatus:
    open_ranges = (
        None
        if ranges_key is None
        # Lists, as cards hold them: the status bisects them with lists.
        else {"from_min": ranges_key[0], "until_min": ranges_key[1], "ranges": [list(r) for r in ranges_key[2]]}
    )
    return open_status(None if intervals is None else list(intervals), tz, minute, open_ranges)


def _unrolled_runs(intervals: list[Interval]) -> list[Interval]:
    """Continuous openings laid over last, this and next week (week minutes may be <0 or >=10080).

    An opening running through Sunday 24:00 into Monday is joined into one run first, so
    its close is the Monday-morning close, not "24:00".
    """
    runs = list(intervals)
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][1] == WEEK_MINUTES:
        runs = [*runs[1:-1], (runs[-1][0], WEEK_MINUTES + runs[0][1])]
    return sorted(
        (start_min + shift, end_min + shift)
        for shift in (-WEEK_MINUTES, 0, WEEK_MINUTES)
        for start_min, end_min in runs
    )


def _instant_at(target_min: int, local_now: datetime, zone: ZoneInfo) -> datetime:
    """Aware datetime of week minute `target_min` counted from the Monday of `local_now`'s week."""
    monday = datetime.combine(local_now.date() - timedelta(days=local_now.weekday()), time())
    wall = monday + timedelta(minutes=target_min)  # naive arithmetic == wall-clock arithmetic
    return _to_aware(wall, zone, not_before=local_now)


def _when(moment: datetime, local_now: datetime) -> str:
    """ "22:00" on the same local day, else "Tue 02:00" (a 24:00 close reads as next day 00:00)."""
    hhmm = moment.strftime("%H:%M")
    if moment.date() == local_now.date():
        return hhmm
    return f"{WEEKDAY_NAMES[moment.weekday()]} {hhmm}"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _today_hours(runs: list[Interval], day_start_min: int) -> list[str]:
    """Today's openings as "HH:MM–HH:MM".

    An opening shows on the day it starts; one that ends within 24 hours of its start reads
    "20:00–08:00" and is not repeated the next morning. Longer runs are cut at "24:00" each
    day and carried on as "00:00–..." the next day, so no day of a multi-day run looks closed.
    """
    day_end_min = day_start_min + DAY_MINUTES
    hours = []
    for start_min, end_min in runs:
        if end_min <= day_start_min or start_min >= day_end_min:
            continue
        if start_min < day_start_min and not _cut_at_midnight(max(start_min, day_start_min - DAY_MINUTES), end_min):
            continue  # the tail of yesterday's overnight opening, already shown yesterday
        shown_start_min = max(start_min, day_start_min)
        if end_min <= day_end_min:
            shown_end = _hhmm(end_min - day_start_min)
        elif _cut_at_midnight(shown_start_min, end_min):
            shown_end = "24:00"
        else:
            shown_end = _hhmm(end_min - day_end_min)
        hours.append(f"{_hhmm(shown_start_min - day_start_min)}–{shown_end}")
    return hours


def _cut_at_midnight(shown_start_min: int, end_min: int) -> bool:
    # "09:00–09:00" or "00:00–08:00" (next day) would be misread, so runs of a day or more are cut.
    return end_min - shown_start_min >= DAY_MINUTES


def _hhmm(day_min: int) -> str:
    return f"{day_min // 60:02d}:{day_min % 60:02d}"


def _range_status(open_ranges: dict, zone: ZoneInfo, local_now: datetime) -> OpenStatus:
    """Open/closed from dated open ranges; unknown outside the horizon they cover."""
    now_min = int(local_now.timestamp()) // 60
    if not open_ranges["from_min"] <= now_min < open_ranges["until_min"]:
        return OpenStatus("unknown", False, "Hours unknown", None, None, "hours unknown", [])
    ranges = open_ranges["ranges"]  # sorted [start, end] pairs, apart (as the card holds them)
    today = _range_today(ranges, zone, local_now)
    index = bisect.bisect_right(ranges, [now_min, _NO_END])
    if index and ranges[index - 1][1] > now_min:
        closes = _at_minute(ranges[index - 1][1], zone)
        change = f"closes {_when_dated(closes, local_now)}"
        return OpenStatus("open", False, f"Open · {change}", _iso(closes), None, change, today)
    if index == len(ranges) or ranges[index][0] >= open_ranges["until_min"]:
        return OpenStatus("closed", False, "Closed", None, None, None, today)  # next opening: past the horizon
    opens = _at_minute(ranges[index][0], zone)
    change = f"opens {_when_dated(opens, local_now)}"
    return OpenStatus("closed", False, f"Closed · {change}", None, _iso(opens), change, today)


_NO_END = 2**62
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _when_dated(moment: datetime, local_now: datetime) -> str:
    """As _when within the coming week; further off, with the date: "Wed 16 Dec 09:00"."""
    if (moment.date() - local_now.date()).days < 7:
        return _when(moment, local_now)
    day = f"{WEEKDAY_NAMES[moment.weekday()]} {moment.day} {_MONTH_NAMES[moment.month - 1]}"
    return f"{day} {moment.strftime('%H:%M')}"


def _at_minute(epoch_min: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(epoch_min * 60, zone)


def _range_today(ranges: list[list[int]], zone: ZoneInfo, local_now: datetime) -> list[str]:
    """Today's openings as "HH:MM–HH:MM", read as _today_hours reads weekly runs."""
    day_start_min = _utc_minute(datetime.combine(local_now.date(), time()), zone, fold=0)
    day_end_min = _utc_minute(datetime.combine(local_now.date() + timedelta(days=1), time()), zone, fold=0)
    hours = []
    # Ranges are sorted and apart: only the last one starting before today can reach into it.
    first = max(bisect.bisect_right(ranges, [day_start_min, _NO_END]) - 1, 0)
    for start_min, end_min in ranges[first:]:
        if start_min >= day_end_min:
            break
        if end_min <= day_start_min:
            continue
        if start_min < day_start_min and not _cut_at_midnight(max(start_min, day_start_min - DAY_MINUTES), end_min):
            continue  # the tail of yesterday's overnight opening, already shown yesterday
        shown_start_min = max(start_min, day_start_min)
        if end_min == day_end_min or (end_min > day_end_min and _cut_at_midnight(shown_start_min, end_min)):
            shown_end = "24:00"
        else:
            shown_end = _at_minute(end_min, zone).strftime("%H:%M")
        hours.append(f"{_at_minute(shown_start_min, zone).strftime('%H:%M')}–{shown_end}")
    return hours
