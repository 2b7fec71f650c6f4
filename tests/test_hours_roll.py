"""The daily roll of dated hours (service/directory/hours_roll.py), on a real PostGIS: sites
built 35 days ago roll forward to today's horizon, with a change log row and a new data
version; weekly sites are left alone; a second roll the same day changes nothing."""

from __future__ import annotations

import json
import uuid
from datetime import date, time, timedelta

import pytest
from sqlalchemy import Connection, Engine, text

from service.directory import hours_roll, sites
from service.directory import lock as directory_lock
from service.directory.hours import HORIZON_DAYS, ScheduleRule, site_hours
from service.importer import import_path
from tests.support.cli import fieldnav

TZ = "America/Toronto"
SOURCE = "roll"
TODAY = date.today()
BUILT_ON = TODAY - timedelta(days=HORIZON_DAYS)  # "35 days ago": the horizon ends yesterday
MONTHLY = {"freq": "MONTHLY", "byday": "1WE,3WE", "opens_at": "09:00", "closes_at": "17:00"}
WEEKLY = {"freq": "WEEKLY", "byday": "MO,TU,WE,TH,FR", "opens_at": "09:00", "closes_at": "17:00"}
# Open all week from 10 days ago: dated when built 35 days ago, plain 24/7 once it has started.
STARTED_24_7 = {
    "freq": "WEEKLY",
    "opens_at": "00:00",
    "closes_at": "00:00",
    "valid_from": (TODAY - timedelta(days=10)).isoformat(),
}


def _service(name: str, schedule: dict, index: int) -> dict:
    service_id = uuid.uuid5(uuid.NAMESPACE_URL, f"fieldnav-roll-{name}")
    location_id = uuid.uuid5(service_id, "location")
    return {
        "id": str(service_id),
        "name": f"Roll {name}",
        "status": "active",
        "organization": {"id": str(uuid.uuid5(service_id, "org")), "name": f"Organization {name}"},
        "schedules": [{"id": str(uuid.uuid5(service_id, "schedule")), "service_id": str(service_id), **schedule}],
        "service_at_locations": [
            {
                "id": str(uuid.uuid5(service_id, "sal")),
                "service_id": str(service_id),
                "location_id": str(location_id),
                "location": {
                    "id": str(location_id),
                    "location_type": "physical",
                    "name": f"Site {name}",
                    "latitude": 43.6532 + index * 0.001,
                    "longitude": -79.3832,
                },
            }
        ],
    }


SERVICES = {"monthly": MONTHLY, "weekly": WEEKLY, "started": STARTED_24_7}
SERVICE_IDS = {name: uuid.uuid5(uuid.NAMESPACE_URL, f"fieldnav-roll-{name}") for name in SERVICES}


@pytest.fixture
def built_35_days_ago(engine: Engine, tmp_path) -> Engine:
    path = tmp_path / "roll.json"
    services = [_service(name, {**schedule, "timezone": TZ}, i) for i, (name, schedule) in enumerate(SERVICES.items())]
    path.write_text(json.dumps(services))
    import_path(engine, path, source=SOURCE)
    _rebuild(engine, BUILT_ON)
    return engine


def _rebuild(engine: Engine, today: date) -> None:
    with engine.begin() as connection:
        directory_lock.hold(connection)
        sites.rebuild_sites(connection, SOURCE, TZ, today=today)


def _site(connection: Connection, name: str) -> dict:
    row = connection.execute(
        text("""
        SELECT s.card, s.hours_built_on, s.open_week_minutes::text AS open_week_minutes, p.open_24_7,
               (SELECT array_agg(ARRAY[extract(epoch FROM lower(r)) / 60, extract(epoch FROM upper(r)) / 60]
                               ORDER BY lower(r))
                FROM unnest(s.open_ranges) r) AS open_ranges
        FROM service_site s LEFT JOIN map_point p ON p.site_id = s.id
        WHERE s.service_id = :id
    """),
        {"id": SERVICE_IDS[name]},
    ).one()
    return dict(row._mapping)


def _log(connection: Connection) -> list[tuple]:
    return [tuple(r) for r in connection.execute(text("SELECT service_id, version FROM change_log ORDER BY seq"))]


def _version(connection: Connection) -> int:
    return connection.execute(text("SELECT version FROM data_version WHERE id = 1")).scalar_one()


def test_a_monthly_site_built_35_days_ago_rolls_forward(built_35_days_ago: Engine):
    engine = built_35_days_ago
    with engine.connect() as connection:
        before = {name: _site(connection, name) for name in SERVICES}
        log_before, version_before = _log(connection), _version(connection)
    assert before["monthly"]["hours_built_on"] == BUILT_ON
    assert before["weekly"]["hours_built_on"] is None  # plain weekly: never rolled
    assert before["started"]["card"]["open_ranges"] is not None  # had not started yet

    report = hours_roll.roll(engine, TZ, today=TODAY)

    assert (report.sites_rolled, report.sites_changed, report.services_changed) == (2, 2, 2)
    assert report.data_version == version_before + 1
    with engine.connect() as connection:
        after = {name: _site(connection, name) for name in SERVICES}
        assert _version(connection) == version_before + 1
        new_rows = _log(connection)[len(log_before) :]
    assert sorted(new_rows) == sorted((SERVICE_IDS[n], version_before + 1) for n in ("monthly", "started"))

    # The monthly site has today's horizon, in its card and in the column "open now" reads.
    expected = site_hours([ScheduleRule("MONTHLY", "1WE,3WE", time(9), time(17))], TZ, TODAY).open_ranges
    assert expected is not None
    monthly = after["monthly"]
    assert monthly["card"]["open_ranges"] == expected
    assert [[int(start), int(end)] for start, end in monthly["open_ranges"]] == expected["ranges"]
    assert monthly["hours_built_on"] == TODAY
    # The rest of its card is as it was.
    assert {k: v for k, v in monthly["card"].items() if k != "open_ranges"} == {
        k: v for k, v in before["monthly"]["card"].items() if k != "open_ranges"
    }

    # The weekly site is not touched.
    assert after["weekly"] == before["weekly"]

    # The site whose weekly rule has started is plain 24/7 now: weekly minutes, and its map point.
    started = after["started"]
    assert started["card"]["week_intervals"] == [[0, 10080]] and started["card"]["open_ranges"] is None
    assert started["open_week_minutes"] == "{[0,10080)}" and started["open_ranges"] is None
    assert (before["started"]["open_24_7"], started["open_24_7"]) == (False, True)
    assert started["hours_built_on"] is None  # nothing left that depends on the date


def test_the_roll_writes_what_an_import_today_writes(built_35_days_ago: Engine):
    engine = built_35_days_ago
    hours_roll.roll(engine, TZ, today=TODAY)
    with engine.connect() as connection:
        rolled = {name: _site(connection, name) for name in SERVICES}
    _rebuild(engine, TODAY)
    with engine.connect() as connection:
        assert {name: _site(connection, name) for name in SERVICES} == rolled


def test_a_second_roll_the_same_day_changes_nothing(built_35_days_ago: Engine):
    engine = built_35_days_ago
    hours_roll.roll(engine, TZ, today=TODAY)
    with engine.connect() as connection:
        log_before, version_before = _log(connection), _version(connection)

    again = hours_roll.roll(engine, TZ, today=TODAY)

    assert (again.sites_rolled, again.sites_changed, again.data_version) == (0, 0, None)
    with engine.connect() as connection:
        assert _log(connection) == log_before
        assert _version(connection) == version_before


def test_a_site_whose_hours_did_not_change_gets_no_change_log_row(built_35_days_ago: Engine):
    engine = built_35_days_ago
    yesterday = TODAY - timedelta(days=1)
    _rebuild(engine, yesterday)
    # Marked as built the day before: due for a roll on `yesterday`, which builds the same hours.
    with engine.begin() as connection:
        connection.execute(text("UPDATE service_site SET hours_built_on = hours_built_on - 1"))
        version_before = _version(connection)

    report = hours_roll.roll(engine, TZ, today=yesterday)

    assert (report.sites_rolled, report.sites_changed, report.data_version) == (1, 0, None)  # the monthly site
    with engine.connect() as connection:
        assert _version(connection) == version_before
        assert _site(connection, "monthly")["hours_built_on"] == yesterday


def test_the_worker_once_and_the_db_command_run_the_roll(built_35_days_ago: Engine, database_url: str):
    done = fieldnav(database_url, "worker", "--once")
    assert done.returncode == 0, done.stderr
    assert "rolled the hours of 2 sites: 2 changed (2 services)" in done.stdout
    with built_35_days_ago.connect() as connection:
        assert _site(connection, "monthly")["hours_built_on"] == TODAY

    again = fieldnav(database_url, "db", "roll-hours")
    assert again.returncode == 0, again.stderr
    assert "rolled the hours of 0 sites: 0 changed (0 services); data version unchanged" in again.stdout
