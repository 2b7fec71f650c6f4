"""Which zone an imported schedule's hours are in (service/importer/zones.py): fieldnav's own
``timezone_name``, an IANA name in ``timezone``, or HSDS 3.0's UTC offset read as the default
zone when it is one of its offsets, as a fixed ``Etc/GMT`` zone otherwise, said when it is."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from service.importer import import_path
from service.importer.zones import ZoneChoice, schedule_zone
from tests.support.hsds_services import scheduled_service

TORONTO = "America/Toronto"
YEAR = 2026
SCHEDULE_ZONES = text("SELECT s.name, sc.timezone FROM schedule sc JOIN service s ON s.id = sc.service_id")
SITE_ZONES = text("SELECT s.name, site.timezone FROM service_site site JOIN service s ON s.id = site.service_id")


@pytest.mark.parametrize(
    ("timezone", "timezone_name", "zone_name"),
    [
        (-5, "America/Vancouver", "America/Vancouver"),  # the name wins over the offset
        ("America/Regina", None, "America/Regina"),  # HSDS 2 and older files
        (-5, None, TORONTO),  # Toronto in winter
        ("-4", None, TORONTO),  # Toronto in summer, as CSV text
        (None, None, None),  # no zone: the default applies, nothing to say
        ("", "", None),
    ],
)
def test_the_zone_comes_from_the_name_first_then_the_offset(timezone, timezone_name, zone_name):
    assert schedule_zone(timezone, timezone_name, TORONTO, YEAR) == ZoneChoice(zone_name)


def test_an_offset_that_is_not_the_default_zones_is_a_fixed_zone_and_said():
    choice = schedule_zone(-8, None, TORONTO, YEAR)
    assert choice.zone_name == "Etc/GMT+8" and choice.action == "value kept"
    assert "without daylight saving time" in (choice.problem or "")
    # POSIX signs: Etc/GMT+8 is eight hours behind UTC.
    assert datetime(YEAR, 7, 1, tzinfo=ZoneInfo("Etc/GMT+8")).utcoffset().total_seconds() == -8 * 3600  # type: ignore[union-attr]
    assert schedule_zone(5, None, TORONTO, YEAR).zone_name == "Etc/GMT-5"
    assert schedule_zone(0, None, TORONTO, YEAR).zone_name == "Etc/UTC"


@pytest.mark.parametrize("timezone", [-3.5, "banana", 99, "NaN", True])
def test_an_offset_without_a_zone_leaves_the_default_and_says_why(timezone):
    choice = schedule_zone(timezone, None, TORONTO, YEAR)
    assert choice.zone_name is None and choice.action == "value dropped" and choice.problem


def test_a_half_hour_offset_of_the_default_zone_is_that_zone():
    assert schedule_zone(-3.5, None, "America/St_Johns", YEAR) == ZoneChoice("America/St_Johns")
    assert schedule_zone(-2.5, None, "America/St_Johns", YEAR) == ZoneChoice("America/St_Johns")


def test_an_unknown_timezone_name_is_said_and_the_offset_still_read():
    choice = schedule_zone(-5, "Mars/Olympus", TORONTO, YEAR)
    assert choice.zone_name == TORONTO and "Mars/Olympus" in (choice.problem or "")


def test_import_stores_the_zone_and_reports_only_what_it_changed(engine, tmp_path):
    services = [
        scheduled_service(
            "zone name",
            [
                {
                    "byday": "MO",
                    "opens_at": "09:00",
                    "closes_at": "17:00",
                    "timezone": -8,
                    "timezone_name": "America/Vancouver",
                }
            ],
        ),
        scheduled_service(
            "zone offset local", [{"byday": "MO", "opens_at": "09:00", "closes_at": "17:00", "timezone": -5}]
        ),
        scheduled_service(
            "zone offset far", [{"byday": "MO", "opens_at": "09:00", "closes_at": "17:00", "timezone": -6}]
        ),
        scheduled_service(
            "zone unreadable", [{"byday": "MO", "opens_at": "09:00", "closes_at": "17:00", "timezone": "soon"}]
        ),
    ]
    path = tmp_path / "zones.json"
    path.write_text(json.dumps(services))
    result = import_path(engine, path, source="zones")
    problems = {p.field.split(".")[-1] + ":" + p.action for p in result.problems}
    assert problems == {"timezone:value kept", "timezone:value dropped"}, [str(p) for p in result.problems]
    with engine.connect() as connection:
        stored = dict(connection.execute(SCHEDULE_ZONES).all())
        site_zones = dict(connection.execute(SITE_ZONES).all())
    assert stored == {
        "zone name": "America/Vancouver",
        "zone offset local": TORONTO,
        "zone offset far": "Etc/GMT+6",
        "zone unreadable": None,
    }
    # The site's hours are in the schedule's zone, the default where it named none.
    assert site_zones == {**stored, "zone unreadable": TORONTO}
