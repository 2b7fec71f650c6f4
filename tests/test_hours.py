"""Opening-hours engine: weekly intervals from HSDS schedule rules and open-now status (no database)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from service.directory.hours import (
    WEEK_MINUTES,
    OpenStatus,
    ScheduleRule,
    is_always_open,
    open_status,
    open_status_now,
    site_hours,
    week_minute,
    weekly_intervals,
)

TORONTO = "America/Toronto"
WINNIPEG = "America/Winnipeg"
MON, TUE, WED, SUN = 0, 1440, 2 * 1440, 6 * 1440  # week-minute of each day's midnight


def rule(
    byday: str | None, opens: str | None, closes: str | None, freq: str | None = "WEEKLY", **validity
) -> ScheduleRule:
    return ScheduleRule(
        freq, byday, opens and time.fromisoformat(opens), closes and time.fromisoformat(closes), **validity
    )


def toronto(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(TORONTO), fold=fold)


def status(rules: list[ScheduleRule], now: datetime, tz: str = TORONTO) -> OpenStatus:
    return open_status(weekly_intervals(rules), tz, now)


WEEKDAYS_9_TO_5 = [rule("MO,TU,WE,TH,FR", "09:00", "17:00")]
OVERNIGHT_MON = [rule("MO", "20:00", "08:00")]  # Mon 20:00 - Tue 08:00
# 2026-03-02 is a Monday; 2026-03-08 and 2026-11-01 are the Toronto DST Sundays.


# --------------------------------------------------------------------------- weekly_intervals


def test_weekday_rule_gives_one_interval_per_day():
    assert weekly_intervals(WEEKDAYS_9_TO_5) == [(d * 1440 + 540, d * 1440 + 1020) for d in range(5)]


def test_byday_with_spaces_lowercase_and_ordinals_on_weekly():
    expected = [(MON + 540, MON + 1020), (WED + 540, WED + 1020)]
    assert weekly_intervals([rule(" mo , We ", "09:00", "17:00")]) == expected
    assert weekly_intervals([rule("1MO,-1we", "09:00", "17:00")]) == expected  # prefix ignored for WEEKLY
    assert weekly_intervals([rule("MO,WE", "09:00", "17:00", freq=None)]) == expected
    assert weekly_intervals([rule("MO,WE", "09:00", "17:00", freq="weekly")]) == expected


def test_times_without_byday_mean_every_day():
    assert weekly_intervals([rule(None, "09:00", "17:00")]) == [(d * 1440 + 540, d * 1440 + 1020) for d in range(7)]
    assert weekly_intervals([rule("  ", "09:00", "17:00", freq=None)]) == [
        (d * 1440 + 540, d * 1440 + 1020) for d in range(7)
    ]


def test_byday_without_times_means_all_day():
    assert weekly_intervals([rule("SA,SU", None, None)]) == [(5 * 1440, WEEK_MINUTES)]


def test_midnight_to_midnight_is_all_day_and_every_day_all_day_is_24_7():
    assert weekly_intervals([rule("TU", "00:00", "00:00")]) == [(TUE, TUE + 1440)]
    assert weekly_intervals([rule(None, "00:00", "00:00")]) == [(0, WEEK_MINUTES)]
    assert weekly_intervals([rule("MO,TU,WE,TH,FR,SA,SU", None, None)]) == [(0, WEEK_MINUTES)]


def test_close_at_midnight_and_close_at_last_second_end_the_day():
    assert weekly_intervals([rule("MO", "18:00", "00:00")]) == [(MON + 1080, MON + 1440)]
    assert weekly_intervals([rule("MO", "18:00", "23:59:59")]) == [(MON + 1080, MON + 1440)]
    assert weekly_intervals([rule(None, "00:00", "23:59:59")]) == [(0, WEEK_MINUTES)]


def test_overnight_rule_crosses_midnight():
    assert weekly_intervals(OVERNIGHT_MON) == [(MON + 1200, TUE + 480)]
    assert weekly_intervals([rule("MO", "09:00", "09:00")]) == [(MON + 540, TUE + 540)]  # a 24-hour shift


def test_sunday_overnight_wraps_to_monday_morning():
    assert weekly_intervals([rule("SU", "22:00", "06:00")]) == [(0, 360), (SUN + 1320, WEEK_MINUTES)]


def test_overlapping_and_touching_rules_merge():
    assert weekly_intervals([rule("MO", "12:00", "17:00"), rule("MO", "09:00", "13:00")]) == [(MON + 540, MON + 1020)]
    assert weekly_intervals([rule("MO", "09:00", "12:00"), rule("MO", "12:00", "17:00")]) == [(MON + 540, MON + 1020)]
    assert weekly_intervals([rule("MO", "09:00", "12:00"), rule("MO", "13:00", "17:00")]) == [
        (MON + 540, MON + 720),
        (MON + 780, MON + 1020),
    ]


def test_unknown_hours_are_none():
    assert weekly_intervals([]) is None
    assert weekly_intervals([rule(None, None, None)]) is None
    assert weekly_intervals([rule("2MO", "09:00", "17:00", freq="MONTHLY")]) is None  # not weekly
    assert weekly_intervals([rule("XX", "09:00", "17:00")]) is None  # unreadable days: don't guess
    assert weekly_intervals([rule("MO", "09:00", None)]) is None  # half a time range


def test_unusable_rules_are_skipped_next_to_usable_ones():
    assert weekly_intervals([rule("1MO", "09:00", "17:00", freq="MONTHLY"), rule("TU", "10:00", "11:00")]) == [
        (TUE + 600, TUE + 660)
    ]


def test_validity_window_is_inclusive_and_only_applies_with_on():
    summer = rule("MO", "09:00", "17:00", valid_from=date(2026, 6, 1), valid_to=date(2026, 8, 31))
    winter = rule("MO", "10:00", "14:00", valid_to=date(2026, 5, 31))
    assert weekly_intervals([summer, winter], on=date(2026, 6, 1)) == [(540, 1020)]
    assert weekly_intervals([summer, winter], on=date(2026, 8, 31)) == [(540, 1020)]
    assert weekly_intervals([summer, winter], on=date(2026, 5, 31)) == [(600, 840)]
    assert weekly_intervals([summer], on=date(2026, 9, 1)) is None  # nothing valid: unknown
    assert weekly_intervals([summer, winter]) == [(540, 1020)]  # no date: both apply, merged


def test_is_always_open():
    assert is_always_open([(0, WEEK_MINUTES)])
    assert is_always_open([(0, 5000), (5000, WEEK_MINUTES)])
    assert not is_always_open([(0, WEEK_MINUTES - 1)])
    assert not is_always_open([])
    assert not is_always_open(None)


# --------------------------------------------------------------------------- week_minute


def test_week_minute_converts_to_the_zone():
    moment = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)  # Mon 09:30 EST, 08:30 CST
    assert week_minute(moment, TORONTO) == 570
    assert week_minute(moment, WINNIPEG) == 510
    assert week_minute(datetime(2026, 3, 9, 3, 59, tzinfo=UTC), TORONTO) == WEEK_MINUTES - 1  # Sun 23:59 EDT


def test_week_minute_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        week_minute(datetime(2026, 3, 2, 9, 0), TORONTO)


# --------------------------------------------------------------------------- open_status: weekday 9-5


def test_before_opening_on_an_open_day():
    s = status(WEEKDAYS_9_TO_5, toronto(2026, 3, 2, 8, 0))
    assert s == OpenStatus(
        "closed", False, "Closed · opens 09:00", None, "2026-03-02T09:00:00-05:00", "opens 09:00", ["09:00–17:00"]
    )


def test_during_opening_hours():
    s = status(WEEKDAYS_9_TO_5, toronto(2026, 3, 2, 12, 0))
    assert s == OpenStatus(
        "open", False, "Open · closes 17:00", "2026-03-02T17:00:00-05:00", None, "closes 17:00", ["09:00–17:00"]
    )


def test_exactly_at_opening_is_open_and_exactly_at_closing_is_closed():
    assert status(WEEKDAYS_9_TO_5, toronto(2026, 3, 2, 9, 0)).state == "open"
    assert status(WEEKDAYS_9_TO_5, toronto(2026, 3, 2, 16, 59, 59)).state == "open"
    at_close = status(WEEKDAYS_9_TO_5, toronto(2026, 3, 2, 17, 0))
    assert at_close.state == "closed"
    assert at_close.label == "Closed · opens Tue 09:00"


def test_after_closing_on_friday_opens_monday():
    s = status(WEEKDAYS_9_TO_5, toronto(2026, 3, 6, 18, 0))
    assert s.label == "Closed · opens Mon 09:00"
    assert s.next_change == "opens Mon 09:00"
    assert s.opens_at == "2026-03-09T09:00:00-04:00"  # DST began on the Sunday in between
    assert s.closes_at is None


def test_weekend_day_has_no_hours_today():
    assert status(WEEKDAYS_9_TO_5, toronto(2026, 3, 7, 12, 0)).today == []


def test_next_opening_a_full_week_away_names_the_day():
    s = status([rule("MO", "09:00", "10:00")], toronto(2026, 3, 2, 10, 0))
    assert s.next_change == "opens Mon 09:00"
    assert s.opens_at == "2026-03-09T09:00:00-04:00"


# --------------------------------------------------------------------------- 24/7, unknown, empty


def test_always_open():
    s = status([rule(None, "00:00", "00:00")], toronto(2026, 3, 2, 2, 0))
    assert s == OpenStatus("open", True, "Open 24/7", None, None, "24/7", ["00:00–24:00"])


def test_unknown_hours():
    s = open_status(None, TORONTO, toronto(2026, 3, 2, 2, 0))
    assert s == OpenStatus("unknown", False, "Hours unknown", None, None, "hours unknown", [])


def test_empty_week_is_closed_with_no_next_opening():
    s = open_status([], TORONTO, toronto(2026, 3, 2, 2, 0))
    assert (s.state, s.label, s.opens_at, s.next_change, s.today) == ("closed", "Closed", None, None, [])


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        open_status(weekly_intervals(WEEKDAYS_9_TO_5), TORONTO, datetime(2026, 3, 2, 12, 0))


# --------------------------------------------------------------------------- overnight and wrap


def test_overnight_before_midnight():
    s = status(OVERNIGHT_MON, toronto(2026, 3, 2, 23, 0))
    assert s.state == "open"
    assert s.label == "Open · closes Tue 08:00"
    assert s.closes_at == "2026-03-03T08:00:00-05:00"
    assert s.today == ["20:00–08:00"]


def test_overnight_after_midnight_started_yesterday():
    s = status(OVERNIGHT_MON, toronto(2026, 3, 3, 3, 0))
    assert s.state == "open"
    assert s.label == "Open · closes 08:00"
    assert s.next_change == "closes 08:00"
    assert s.today == []  # the opening started on Monday and is listed there


def test_overnight_after_close_opens_next_week():
    s = status(OVERNIGHT_MON, toronto(2026, 3, 3, 8, 0))
    assert s.state == "closed"
    assert s.label == "Closed · opens Mon 20:00"


def test_close_at_midnight_reads_as_next_day_00_00():
    s = status([rule("MO", "18:00", "00:00")], toronto(2026, 3, 2, 19, 0))
    assert s.label == "Open · closes Tue 00:00"
    assert s.closes_at == "2026-03-03T00:00:00-05:00"
    assert s.today == ["18:00–24:00"]


def test_sunday_night_runs_into_monday_morning():
    rules = [rule("SU", "22:00", "06:00")]
    sunday = status(rules, toronto(2026, 3, 1, 23, 0))
    assert sunday.label == "Open · closes Mon 06:00"
    assert sunday.closes_at == "2026-03-02T06:00:00-05:00"
    assert sunday.today == ["22:00–06:00"]
    monday = status(rules, toronto(2026, 3, 2, 3, 0))
    assert monday.label == "Open · closes 06:00"
    assert monday.closes_at == "2026-03-02T06:00:00-05:00"


def test_adjacent_intervals_across_the_week_wrap_are_one_opening():
    rules = [rule("SU", "22:00", "00:00"), rule("MO", "00:00", "06:00")]
    assert weekly_intervals(rules) == [(0, 360), (SUN + 1320, WEEK_MINUTES)]
    s = status(rules, toronto(2026, 3, 1, 23, 0))
    assert s.label == "Open · closes Mon 06:00"
    assert s.closes_at == "2026-03-02T06:00:00-05:00"


def test_split_day_lunch_break():
    rules = [rule("MO", "09:00", "12:00"), rule("mo", "13:00", "17:00")]
    s = status(rules, toronto(2026, 3, 2, 12, 30))
    assert s.label == "Closed · opens 13:00"
    assert s.today == ["09:00–12:00", "13:00–17:00"]
    assert status(rules, toronto(2026, 3, 2, 11, 0)).label == "Open · closes 12:00"


def test_multi_day_opening_shows_on_every_day_it_covers():
    # Mon 09:00 through Wed 08:00 without a break.
    rules = [rule("MO", "09:00", "00:00"), rule("TU", None, None), rule("WE", "00:00", "08:00")]
    assert status(rules, toronto(2026, 3, 2, 10, 0)).today == ["09:00–24:00"]
    tuesday = status(rules, toronto(2026, 3, 3, 10, 0))
    assert tuesday.today == ["00:00–24:00"]
    assert tuesday.label == "Open · closes Wed 08:00"
    assert status(rules, toronto(2026, 3, 4, 10, 0)).today == ["00:00–08:00"]


# --------------------------------------------------------------------------- DST and zones


def test_spring_forward_opening_gets_the_daylight_offset():
    s = status([rule(None, "09:00", "17:00")], toronto(2026, 3, 7, 18, 0))
    assert s.opens_at == "2026-03-08T09:00:00-04:00"
    assert s.label == "Closed · opens Sun 09:00"
    before = status([rule(None, "09:00", "17:00")], toronto(2026, 3, 7, 12, 0))
    assert before.closes_at == "2026-03-07T17:00:00-05:00"


def test_spring_forward_overnight_close_after_the_change():
    s = status([rule("SA", "20:00", "08:00")], toronto(2026, 3, 8, 1, 30))
    assert s.label == "Open · closes 08:00"
    assert s.closes_at == "2026-03-08T08:00:00-04:00"


def test_opening_inside_the_spring_forward_gap_moves_to_the_first_valid_instant():
    rules = [rule("SU", "02:30", "04:00")]
    s = status(rules, toronto(2026, 3, 8, 1, 0))
    assert s.opens_at == "2026-03-08T03:00:00-04:00"  # 02:30 does not exist that night
    assert s.label == "Closed · opens 03:00"
    assert status(rules, toronto(2026, 3, 8, 3, 0)).state == "open"


def test_closing_inside_the_spring_forward_gap_does_not_crash():
    s = status([rule("SA", "22:00", "02:30")], toronto(2026, 3, 8, 1, 45))
    assert s.state == "open"
    assert s.closes_at == "2026-03-08T03:00:00-04:00"


def test_fall_back_overnight_close_gets_the_standard_offset():
    s = status([rule("SA", "20:00", "08:00")], toronto(2026, 10, 31, 23, 0))
    assert s.closes_at == "2026-11-01T08:00:00-05:00"
    assert s.label == "Open · closes Sun 08:00"
    assert status([rule("SA", "20:00", "08:00")], toronto(2026, 10, 31, 21, 0)).closes_at.endswith("-05:00")
    assert status([rule(None, "09:00", "17:00")], toronto(2026, 10, 31, 12, 0)).closes_at == "2026-10-31T17:00:00-04:00"


def test_fall_back_ambiguous_close_picks_the_occurrence_not_yet_past():
    rules = [rule("SU", "00:00", "01:30")]
    first_pass = datetime(2026, 11, 1, 5, 10, tzinfo=UTC)  # 01:10 EDT
    second_pass = datetime(2026, 11, 1, 6, 10, tzinfo=UTC)  # 01:10 EST
    assert open_status(weekly_intervals(rules), TORONTO, first_pass).closes_at == "2026-11-01T01:30:00-04:00"
    assert open_status(weekly_intervals(rules), TORONTO, second_pass).closes_at == "2026-11-01T01:30:00-05:00"


def test_same_instant_differs_between_toronto_and_winnipeg():
    moment = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    in_toronto = status(WEEKDAYS_9_TO_5, moment, TORONTO)
    in_winnipeg = status(WEEKDAYS_9_TO_5, moment, WINNIPEG)
    assert (in_toronto.state, in_toronto.closes_at) == ("open", "2026-03-02T17:00:00-05:00")
    assert (in_winnipeg.state, in_winnipeg.opens_at) == ("closed", "2026-03-02T09:00:00-06:00")
    assert in_winnipeg.label == "Closed · opens 09:00"


def test_now_in_another_zone_is_converted_first():
    # Tue 03:00 UTC is still Monday 22:00 in Toronto: the Monday overnight opening applies.
    s = status(OVERNIGHT_MON, datetime(2026, 3, 3, 3, 0, tzinfo=UTC))
    assert s.label == "Open · closes Tue 08:00"
    assert s.today == ["20:00–08:00"]


# --------------------------------------------------------------------------- open_status_now


def test_the_remembered_status_is_the_status_at_every_second():
    """open_status_now answers from a memory per minute: for any second of any minute, across
    both DST Sundays, it must give what open_status gives for that exact instant."""
    schedules = {
        "weekdays 9-5": (weekly_intervals(WEEKDAYS_9_TO_5), None),
        "overnight": (weekly_intervals(OVERNIGHT_MON), None),
        "ambiguous close": (weekly_intervals([rule("SU", "00:00", "01:30")]), None),
        "spring gap": (weekly_intervals([rule("SU", "02:30", "03:15"), rule("SA", "20:00", "02:10")]), None),
        "24/7": (weekly_intervals([rule(None, "00:00", "00:00")]), None),
        "unknown": (None, None),
        "empty week": ([], None),
        "dated": (
            None,
            site_hours(
                [ScheduleRule("MONTHLY", "1SU,-1SA", time(1, 10), time(2, 40))], TORONTO, date(2026, 10, 20)
            ).open_ranges,
        ),
    }
    randomness = random.Random(20261206)
    starts = [datetime(2026, 3, 7, 12, tzinfo=UTC), datetime(2026, 10, 31, 12, tzinfo=UTC)]
    for name, (intervals, ranges) in schedules.items():
        for start in starts:
            for step in range(0, 48 * 60, 7):  # every 7 minutes over two days, at a random second
                now = start + timedelta(
                    minutes=step, seconds=randomness.randint(0, 59), microseconds=randomness.randint(0, 999_999)
                )
                expected = open_status(intervals, TORONTO, now, ranges)
                assert open_status_now(intervals, TORONTO, now, ranges) == expected, (name, now)


def test_the_remembered_status_tells_the_two_half_past_ones_of_the_fall_back_night_apart():
    intervals = weekly_intervals([rule("SU", "00:00", "01:45")])
    first, second = toronto(2026, 11, 1, 1, 30, fold=0), toronto(2026, 11, 1, 1, 30, fold=1)
    assert first == second  # Python compares local times of one zone without their fold
    for moment in (first, second, first, second):
        assert open_status_now(intervals, TORONTO, moment) == open_status(intervals, TORONTO, moment)
    assert open_status_now(intervals, TORONTO, first).closes_at == "2026-11-01T01:45:00-04:00"
    assert open_status_now(intervals, TORONTO, second).closes_at == "2026-11-01T01:45:00-05:00"
