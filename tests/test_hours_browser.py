"""The phone's hours (web/src/hours.js, run in Chromium) agree with the server's open_status
for dated open ranges (monthly, yearly, every 2 weeks), across both DST changes.

The year walked is June 2025 to June 2026: from November 2026 tz databases disagree on
America/Vancouver (2026 releases keep British Columbia on -07:00; the system's 2025b, which
Python's zoneinfo reads here, still falls back), and Chromium carries its own."""

from __future__ import annotations

import functools
import threading
from datetime import UTC, date, datetime, time, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from service.directory.hours import ScheduleRule, open_ranges, open_status

FIRST_DAY = date(2025, 6, 1)
WEB_SRC = Path(__file__).resolve().parent.parent / "web" / "src"

RULES = {
    "first and third Wednesday": ScheduleRule("MONTHLY", "1WE,3WE", time(9), time(17)),
    "last Friday, overnight": ScheduleRule("MONTHLY", "-1FR", time(18), time(2, 30)),
    "first and last day, overnight": ScheduleRule("MONTHLY", None, time(20), time(8), bymonthday="1,-1"),
    "yearly days, all day": ScheduleRule("YEARLY", None, time(0), time(0), byyearday="1,67,-1"),
    "every 2 weeks": ScheduleRule("WEEKLY", "SA,SU", time(21), time(3, 30), interval=2, dtstart=date(2025, 10, 4)),
}


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # quiet: no line per request in the test output
        pass


@pytest.fixture(scope="module")
def web_src_url():
    """web/src served as it is, so the page can import hours.js as a module."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(WEB_SRC)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _instants(tz: str) -> list[datetime]:
    """Every 53 minutes of a year (all minutes of the hour come round), and every 10 minutes of the DST days."""
    zone = ZoneInfo(tz)
    start = datetime.combine(FIRST_DAY, time(), zone).astimezone(UTC)
    instants = [start + timedelta(minutes=m) for m in range(0, 365 * 24 * 60, 53)]
    for dst_day in (date(2025, 11, 1), date(2025, 11, 2), date(2026, 3, 7), date(2026, 3, 8)):
        day_start = datetime.combine(dst_day, time(), zone).astimezone(UTC)
        instants += [day_start + timedelta(minutes=m) for m in range(0, 26 * 60, 10)]
    return instants


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.mark.parametrize("tz", ["America/Toronto", "America/Vancouver"])
def test_hours_js_reads_open_ranges_as_the_server_does(browser, web_src_url, tz):
    page = browser.new_page()
    try:
        page.goto(f"{web_src_url}/")
        compared = 0
        for name, rule in RULES.items():
            ranges = open_ranges([rule], tz, FIRST_DAY, horizon_days=366)
            assert ranges is not None
            instants = _instants(tz)
            phone = page.evaluate(
                """async ([ranges, tz, instants]) => {
                    const { hoursAt } = await import('/hours.js');
                    return instants.map((at) => hoursAt(null, tz, new Date(at), ranges));
                }""",
                [ranges, tz, [at.isoformat() for at in instants]],
            )
            for at, hours in zip(instants, phone, strict=True):
                server = open_status(None, tz, at, ranges)
                context = (name, tz, at.astimezone(ZoneInfo(tz)).isoformat(), hours, server)
                assert hours["state"] == server.state, context
                assert _instant(hours["closes_at"]) == _instant(server.closes_at), context
                assert _instant(hours["opens_at"]) == _instant(server.opens_at), context
                assert hours["today"] == server.today, context
                compared += 1
        assert compared > 5 * 9000
        # Past the horizon the phone says "hours unknown", as the server does.
        late = page.evaluate(
            """async ([ranges, tz]) => (await import('/hours.js')).hoursAt(null, tz, new Date('2027-06-01T12:00:00Z'), ranges)""",
            [open_ranges([RULES["first and third Wednesday"]], tz, FIRST_DAY, horizon_days=35), tz],
        )
        assert late["state"] == "unknown"
    finally:
        page.close()
