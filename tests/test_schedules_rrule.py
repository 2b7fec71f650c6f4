"""HSDS schedules as RFC 5545 rules (MONTHLY, YEARLY, ordinals, month days, interval, count,
until, dtstart, valid_from/valid_to): open ranges against a brute force that walks the
calendar minute by minute, and the SQL "open now" filter against the Python answer."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from service.directory.hours import DAY_MINUTES, ScheduleRule, open_ranges, open_status, site_hours
from service.directory.nearest import NearestQuery, find_nearest

ZONES = ("America/Toronto", "America/Vancouver")
FIRST_DAY = date(2026, 1, 1)  # the walk covers 2026, with both DST changes (Mar 8, Nov 1)
WALK_DAYS = 365
HORIZON_DAYS = WALK_DAYS + 35  # so every minute of the walk has its next change inside the horizon


def _nth_weekday_of_month(day: date) -> int:
    return (day.day - 1) // 7 + 1


def _is_last_weekday_of_month(day: date) -> bool:
    return (day + timedelta(days=7)).month != day.month


def _is_last_day_of_month(day: date) -> bool:
    return (day + timedelta(days=1)).day == 1


@dataclass(frozen=True)
class Case:
    name: str
    rules: tuple[ScheduleRule, ...]
    # Independent of dateutil: on which local dates each rule opens.
    opens_on: tuple[Callable[[date], bool], ...]


def _rule(freq, byday, opens: str, closes: str, **parts) -> ScheduleRule:
    return ScheduleRule(freq, byday, time.fromisoformat(opens), time.fromisoformat(closes), **parts)


CASES = [
    Case(
        "first and third Wednesday",
        (_rule("MONTHLY", "1WE,3WE", "09:00", "17:00"),),
        (lambda d: d.weekday() == 2 and _nth_weekday_of_month(d) in (1, 3),),
    ),
    Case(
        "last Friday, overnight",
        (_rule("MONTHLY", "-1FR", "18:00", "02:30"),),
        (lambda d: d.weekday() == 4 and _is_last_weekday_of_month(d),),
    ),
    Case(
        # Oct 31 20:00 to Nov 1 08:00 runs through the fall-back hour.
        "first and last day of the month, overnight",
        (_rule("MONTHLY", None, "20:00", "08:00", bymonthday="1,-1"),),
        (lambda d: d.day == 1 or _is_last_day_of_month(d),),
    ),
    Case(
        # Day 67 of 2026 is Sunday March 8, the spring-forward day: a 23-hour whole day.
        "yearly days, all day",
        (_rule("YEARLY", None, "00:00", "00:00", byyearday="1,67,-1"),),
        (lambda d: d.timetuple().tm_yday in (1, 67) or (d.month, d.day) == (12, 31),),
    ),
    Case(
        "second Sunday of the year and the last Monday of the year",
        (_rule("YEARLY", "2SU,-1MO", "10:00", "15:00"),),
        (
            lambda d: (
                (d.weekday() == 6 and d.month == 1 and _nth_weekday_of_month(d) == 2)
                or (d.weekday() == 0 and d.month == 12 and _is_last_weekday_of_month(d))
            ),
        ),
    ),
    Case(
        # Every other weekend from Saturday Jan 3; Saturday Mar 7's night runs past 02:00 on Mar 8.
        "every 2 weeks, weekend nights",
        (_rule("WEEKLY", "SA,SU", "21:00", "03:30", interval=2, dtstart=date(2026, 1, 3)),),
        (lambda d: d >= date(2026, 1, 3) and d.weekday() in (5, 6) and (d - date(2026, 1, 3)).days // 7 % 2 == 0,),
    ),
    Case(
        "second Tuesday, 6 times from February",
        (_rule("MONTHLY", "2TU", "14:00", "15:30", count=6, dtstart=date(2026, 2, 1)),),
        (lambda d: d.weekday() == 1 and _nth_weekday_of_month(d) == 2 and 2 <= d.month <= 7,),
    ),
    Case(
        # A plain weekly rule closed outside its validity window, beside a monthly one.
        "summer weekdays and the 15th until October",
        (
            _rule("WEEKLY", "MO,WE", "09:00", "12:00", valid_from=date(2026, 4, 15), valid_to=date(2026, 9, 30)),
            _rule("MONTHLY", None, "11:00", "19:00", bymonthday="15", until=date(2026, 10, 15)),
        ),
        (
            lambda d: d.weekday() in (0, 2) and date(2026, 4, 15) <= d <= date(2026, 9, 30),
            lambda d: d.day == 15 and d <= date(2026, 10, 15),
        ),
    ),
    Case(
        "every 3 days from dtstart, mornings",
        (_rule("DAILY", None, "07:00", "11:00", interval=3, dtstart=date(2026, 1, 2)),),
        (lambda d: d >= date(2026, 1, 2) and (d - date(2026, 1, 2)).days % 3 == 0,),
    ),
]


def _wall_minutes(rule: ScheduleRule) -> tuple[int, int]:
    assert rule.opens_at is not None and rule.closes_at is not None
    start = rule.opens_at.hour * 60 + rule.opens_at.minute
    end = rule.closes_at.hour * 60 + rule.closes_at.minute
    if end <= start:
        end += DAY_MINUTES
    return start, end


def _oracle_states(case: Case, zone: ZoneInfo, from_min: int, minutes: int, last_day: date) -> bytearray:
    """Open (1) or closed (0) on each UTC minute from `from_min`, read on the local wall clock:
    open when some opening day's wall-clock span holds the minute's local wall time.

    Wall times are counted in minutes since 1970-01-01 00:00 local (naive) time, the UTC
    offset read from the zone once an hour (offsets here change on the hour)."""
    spans = [_wall_minutes(rule) for rule in case.rules]
    epoch_day = date(1970, 1, 1)
    last_day_index = (last_day - epoch_day).days
    opens_on_day: dict[int, list[tuple[int, int]]] = {}

    def spans_of(day_index: int) -> list[tuple[int, int]]:
        if day_index not in opens_on_day:
            day = epoch_day + timedelta(days=day_index)
            opens_on_day[day_index] = [
                (day_index * DAY_MINUTES + start, day_index * DAY_MINUTES + end)
                for (start, end), opens_on in zip(spans, case.opens_on, strict=True)
                if day_index <= last_day_index and opens_on(day)
            ]
        return opens_on_day[day_index]

    states = bytearray(minutes)
    offset_min = 0
    for offset in range(minutes):
        minute = from_min + offset
        if offset == 0 or minute % 60 == 0:
            utcoffset = datetime.fromtimestamp(minute * 60, zone).utcoffset()
            assert utcoffset is not None
            offset_min = int(utcoffset.total_seconds()) // 60
        wall_min = minute + offset_min
        day_index = wall_min // DAY_MINUTES
        if any(start <= wall_min < end for d in (day_index, day_index - 1) for start, end in spans_of(d)):
            states[offset] = 1
    return states


def _epoch_min(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp()) // 60


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_open_ranges_match_a_minute_by_minute_walk_of_the_calendar(case: Case, tz: str):
    """2026 in minutes: open or closed, and the instant of the next change, as open_status says."""
    zone = ZoneInfo(tz)
    ranges = open_ranges(case.rules, tz, FIRST_DAY, horizon_days=HORIZON_DAYS)
    assert ranges is not None
    last_day = FIRST_DAY + timedelta(days=HORIZON_DAYS - 1)
    from_min, until_min = ranges["from_min"], ranges["until_min"]
    # The oracle runs two days past the horizon: an opening of its last day may end there.
    states = _oracle_states(case, zone, from_min, until_min - from_min + 2 * DAY_MINUTES, last_day)
    next_change = [0] * len(states)
    next_change[-1] = len(states)
    for offset in range(len(states) - 2, -1, -1):
        next_change[offset] = offset + 1 if states[offset + 1] != states[offset] else next_change[offset + 1]

    walk_end = _epoch_min(datetime.combine(FIRST_DAY + timedelta(days=WALK_DAYS), time(), zone).isoformat())
    # Every 5th minute of the year (every minute is 30 s a case), and every minute within 10
    # minutes of each change and through both DST-change days.
    walked = set(range(from_min, walk_end, 5))
    for offset in range(1, len(states)):
        if states[offset] != states[offset - 1]:
            walked.update(range(from_min + offset - 10, from_min + offset + 10))
    for dst_day in (date(2026, 3, 8), date(2026, 11, 1)):
        day_start = _epoch_min(datetime.combine(dst_day, time(), zone).isoformat())
        walked.update(range(day_start, day_start + 25 * 60))
    opened = 0
    for minute in sorted(m for m in walked if from_min <= m < walk_end):
        offset = minute - from_min
        status = open_status(None, tz, datetime.fromtimestamp(minute * 60, UTC), ranges)
        expected_state = "open" if states[offset] else "closed"
        assert status.state == expected_state, (tz, datetime.fromtimestamp(minute * 60, zone))
        change_min = from_min + next_change[offset]
        if status.state == "open":
            opened += 1
            assert status.closes_at is not None and _epoch_min(status.closes_at) == change_min, (
                datetime.fromtimestamp(minute * 60, zone),
                status,
            )
        elif change_min < until_min:
            assert status.opens_at is not None and _epoch_min(status.opens_at) == change_min, (
                datetime.fromtimestamp(minute * 60, zone),
                status,
            )
        else:
            assert status.opens_at is None and status.next_change is None
    assert opened > 0


def test_labels_name_the_date_of_an_opening_more_than_a_week_away():
    tz = "America/Toronto"
    hours = site_hours([_rule("MONTHLY", "1WE,3WE", "09:00", "17:00")], tz, date(2026, 12, 5))
    assert hours.week_intervals is None and hours.open_ranges is not None
    at = datetime(2026, 12, 5, 12, 0, tzinfo=ZoneInfo(tz))
    status = open_status(hours.week_intervals, tz, at, hours.open_ranges)
    assert (status.state, status.label, status.opens_at) == (
        "closed",
        "Closed · opens Wed 16 Dec 09:00",
        "2026-12-16T09:00:00-05:00",
    )
    during = open_status(None, tz, datetime(2026, 12, 16, 9, 0, tzinfo=ZoneInfo(tz)), hours.open_ranges)
    assert (during.state, during.label, during.today) == ("open", "Open · closes 17:00", ["09:00–17:00"])


def test_plain_weekly_rules_keep_week_intervals_and_others_make_ranges():
    tz, today = "America/Toronto", date(2026, 12, 5)
    weekly = _rule("WEEKLY", "MO,TU", "09:00", "17:00")
    assert site_hours([weekly], tz, today).week_intervals == [(540, 1020), (1980, 2460)]
    assert site_hours([weekly], tz, today).open_ranges is None
    # A weekly rule that ends inside the horizon is dated: closed after its valid_to.
    ending = _rule("WEEKLY", "MO,TU", "09:00", "17:00", valid_to=date(2026, 12, 15))
    hours = site_hours([ending], tz, today)
    assert hours.week_intervals is None and hours.open_ranges is not None
    after = open_status(None, tz, datetime(2026, 12, 21, 10, 0, tzinfo=ZoneInfo(tz)), hours.open_ranges)
    assert (after.state, after.opens_at, after.next_change) == ("closed", None, None)
    # Past the horizon the hours are unknown.
    late = open_status(None, tz, datetime(2027, 2, 1, 10, 0, tzinfo=ZoneInfo(tz)), hours.open_ranges)
    assert late.state == "unknown"
    # A rule whose phase cannot be known (interval without dtstart) says nothing.
    assert site_hours([_rule("WEEKLY", "MO", "09:00", "17:00", interval=2)], tz, today) == site_hours([], tz, today)
    assert site_hours([], tz, today).open_ranges is None and site_hours([], tz, today).week_intervals is None
    # An expired rule beside a monthly one leaves only the monthly openings.
    expired = _rule("WEEKLY", "SA", "09:00", "17:00", valid_to=date(2026, 11, 30))
    monthly = _rule("MONTHLY", "-1FR", "09:00", "17:00")
    ranges = site_hours([expired, monthly], tz, today).open_ranges
    assert ranges is not None
    assert [datetime.fromtimestamp(start * 60, ZoneInfo(tz)).date() for start, _ in ranges["ranges"]] == [
        date(2026, 12, 25)
    ]


# --------------------------------------------------------------------------- SQL against Python

TORONTO_POINT = (43.6532, -79.3832)


def _service(index: int, schedules: list[dict], tz: str) -> dict:
    service_id = uuid.uuid5(uuid.NAMESPACE_URL, f"fieldnav-rrule-{index}")
    location_id = uuid.uuid5(service_id, "location")
    return {
        "id": str(service_id),
        "name": f"Rrule test service {index}",
        "status": "active",
        "organization": {"id": str(uuid.uuid5(service_id, "org")), "name": f"Organization {index}"},
        "schedules": [
            {"id": str(uuid.uuid5(service_id, f"schedule-{n}")), "service_id": str(service_id), "timezone": tz, **s}
            for n, s in enumerate(schedules)
        ],
        "service_at_locations": [
            {
                "id": str(uuid.uuid5(service_id, "sal")),
                "service_id": str(service_id),
                "location_id": str(location_id),
                "location": {
                    "id": str(location_id),
                    "location_type": "physical",
                    "name": f"Site {index}",
                    "latitude": TORONTO_POINT[0] + index * 0.001,
                    "longitude": TORONTO_POINT[1],
                },
            }
        ],
    }


def _sql_services(today: date) -> list[dict]:
    soon = (today + timedelta(days=10)).isoformat()
    anchor = (today - timedelta(days=today.weekday() + 7)).isoformat()  # a Monday
    return [
        _service(
            0, [{"freq": "MONTHLY", "byday": "1WE,3WE", "opens_at": "09:00", "closes_at": "17:00"}], "America/Toronto"
        ),
        _service(
            1, [{"freq": "MONTHLY", "byday": "-1FR", "opens_at": "18:00", "closes_at": "02:00"}], "America/Vancouver"
        ),
        _service(
            2,
            [{"freq": "MONTHLY", "bymonthday": "1,15,-1", "opens_at": "08:00", "closes_at": "20:00"}],
            "America/Toronto",
        ),
        _service(
            3,
            [
                {
                    "freq": "WEEKLY",
                    "byday": "MO,TH",
                    "interval": 2,
                    "dtstart": anchor,
                    "opens_at": "10:00",
                    "closes_at": "16:00",
                }
            ],
            "America/Toronto",
        ),
        _service(
            4,
            [{"freq": "WEEKLY", "byday": "MO,TU,WE,TH,FR", "opens_at": "09:00", "closes_at": "17:00"}],
            "America/Vancouver",
        ),
        _service(
            5,
            [{"freq": "WEEKLY", "byday": "SA,SU", "opens_at": "11:00", "closes_at": "15:00", "valid_to": soon}],
            "America/Toronto",
        ),
        _service(
            6, [{"freq": "YEARLY", "byyearday": "1,-1", "opens_at": "00:00", "closes_at": "00:00"}], "America/Toronto"
        ),
    ]


def test_the_sql_open_now_filter_agrees_with_open_status(database_url, tmp_path):
    from service.importer import import_path

    today = date.today()
    path = tmp_path / "rrule.json"
    path.write_text(json.dumps(_sql_services(today)))
    engine = create_engine(database_url)
    try:
        import_path(engine, path, source="rrule")
        lat, lon = TORONTO_POINT
        with engine.connect() as connection:
            kinds = connection.execute(
                text(
                    "SELECT count(*) FILTER (WHERE open_ranges IS NOT NULL), "
                    "count(*) FILTER (WHERE open_week_minutes IS NOT NULL) FROM service_site WHERE source = 'rrule'"
                )
            ).one()
            assert tuple(kinds) == (6, 1)  # only the plain weekday rule stays weekly
            cards = {
                hit.card["service_id"]: hit.card for hit in find_nearest(connection, NearestQuery(lat, lon, limit=50))
            }
            assert len(cards) == 7
            start = datetime.combine(today, time(), UTC)
            checked = opened = 0
            for step in range(0, 33 * 24 * 60, 97):  # every 97 minutes over 33 days: all hours of the day
                at = start + timedelta(minutes=step)
                expected = {
                    service_id
                    for service_id, card in cards.items()
                    if open_status(card["week_intervals"], card["timezone"], at, card.get("open_ranges")).state
                    == "open"
                }
                found = {
                    hit.card["service_id"]
                    for hit in find_nearest(connection, NearestQuery(lat, lon, limit=50, open_at=at))
                }
                assert found == expected, at
                checked += 1
                opened += len(found)
            assert checked > 400 and opened > 0
    finally:
        engine.dispose()


def test_results_show_the_hours_the_open_now_filter_reads(database_url, tmp_path):
    """The hours a result shows and the rule a phone stores come from the same open ranges."""
    from service.directory.results import offline_summary, service_summary
    from service.importer import import_path

    today = date.today()
    path = tmp_path / "rrule.json"
    path.write_text(json.dumps(_sql_services(today)))
    engine = create_engine(database_url)
    try:
        import_path(engine, path, source="rrule")
        with engine.connect() as connection:
            start = datetime.combine(today, time(), UTC)
            states = set()
            for step in range(0, 20 * 24 * 60, 211):
                at = start + timedelta(minutes=step)
                open_now = {
                    hit.card["service_id"]
                    for hit in find_nearest(connection, NearestQuery(*TORONTO_POINT, limit=50, open_at=at))
                }
                for hit in find_nearest(connection, NearestQuery(*TORONTO_POINT, limit=50)):
                    shown = service_summary(hit.card, at)
                    assert "open_ranges" not in shown and "week_intervals" not in shown
                    card = hit.card
                    expected = open_status(card["week_intervals"], card["timezone"], at, card["open_ranges"])
                    assert shown["hours"]["state"] == expected.state
                    assert (shown["hours"]["state"] == "open") is (card["service_id"] in open_now), at
                    assert offline_summary(card, at)["open_ranges"] == card["open_ranges"]
                    states.add(shown["hours"]["state"])
            assert states == {"open", "closed"}
    finally:
        engine.dispose()
