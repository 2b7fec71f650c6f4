"""Hours that are not weekly, as a worker sees them: on a phone (Debian's Chromium, 360x640),
in French, in the dark theme, with the signal gone after the area was saved. A food bank open
one day of the month says when it next opens with the date, not a weekday alone ("mer." would
read as this Wednesday); a drop-in open the first and third Wednesday shows open or closed as
the server says. The phone computes both from the pack's open ranges (web/src/hours.js).

Screenshots (tests/artifacts/browser): hours-monthly-list-fr-dark, hours-monthly-detail-fr-dark.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.browser import phone_context, screenshot
from tests.browser.app import TORONTO, WAIT_MS, nearest, open_app, save_default_area, tap, wait_list
from tests.support.hsds_services import import_services, scheduled_service

ZONE = ZoneInfo("America/Toronto")
FOOD = "BD-1800.2000"  # 211/AIRS: food pantries (category group "food")
OPENS_IN_DAYS = 10


def _food_next_to_worker(service: dict, name: str, north_m: float) -> dict:
    """The service, named ``name``, a food pantry a few metres from the worker (TORONTO)."""
    service["name"] = name
    service["attributes"][0]["taxonomy_term"]["name"] = "Food Pantries"
    location = service["service_at_locations"][0]["location"]
    location["name"] = name
    location["latitude"] = TORONTO["latitude"] + north_m / 111_000
    location["longitude"] = TORONTO["longitude"]
    return service


@pytest.fixture(scope="module")
def opens_on() -> datetime:
    """10:00 on the day of the month ten days from now (Toronto): closed until then."""
    day = datetime.now(ZONE).date() + timedelta(days=OPENS_IN_DAYS)
    return datetime(day.year, day.month, day.day, 10, tzinfo=ZONE)


@pytest.fixture(scope="module")
def dated_sites(field_database_url, tmp_path_factory, opens_on) -> dict[str, str]:
    """Two food services beside the worker, in a source of their own (the demo data stays)."""
    monthly = {"freq": "MONTHLY", "opens_at": "10:00", "closes_at": "14:00"}
    services = {
        "Banque alimentaire du mois": scheduled_service(
            f"monthly food {uuid.uuid4().hex[:6]}", [{**monthly, "bymonthday": str(opens_on.day)}], FOOD
        ),
        "Halte 1er et 3e mercredi": scheduled_service(
            f"first third wednesday {uuid.uuid4().hex[:6]}", [{**monthly, "byday": "1WE,3WE"}], FOOD
        ),
    }
    for north_m, (name, service) in enumerate(services.items(), start=1):
        _food_next_to_worker(service, name, north_m * 5.0)
    import_services(field_database_url, tmp_path_factory.mktemp("dated"), "dated-hours", list(services.values()))
    return {name: service["id"] for name, service in services.items()}


def _row(page, service_id: str):
    return page.locator(f'#nearest-list li.result[data-service-id="{service_id}"]')


def test_dated_hours_offline_at_night_in_french(server, browser, worker_token, api, dated_sites, opens_on):
    served = {
        r["service_id"]: r["hours"]
        for r in nearest(api, TORONTO["latitude"], TORONTO["longitude"], category="food", limit=20)
    }
    monthly_id, wednesday_id = dated_sites.values()
    assert served[monthly_id]["state"] == "closed"
    assert datetime.fromisoformat(served[monthly_id]["opens_at"]) == opens_on

    context = phone_context(browser, geolocation=TORONTO, locale="fr-CA", color_scheme="dark")
    try:
        page = open_app(context, server, worker_token)
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=WAIT_MS)
        if page.evaluate("() => document.documentElement.lang") != "fr":
            tap(page, "#lang-toggle")
            page.wait_for_function("() => document.documentElement.lang === 'fr'")
        save_default_area(page)

        context.set_offline(True)
        page.reload()
        page.wait_for_selector("#app:not([hidden])", timeout=WAIT_MS)
        tap(page, '.tabbar [data-tab="nearby"]')
        tap(page, '#chips .chip[data-code="food"]')
        wait_list(page)
        assert page.locator("#nearest").get_attribute("data-source") == "phone"

        monthly, wednesday = _row(page, monthly_id), _row(page, wednesday_id)
        month = r"[a-zéû]+\.?"
        expected = rf"^Fermé · ouvre [a-z]+\. {opens_on.day} {month} 10 h$"
        shown = monthly.locator(".badge[class*=hours-]").text_content() or ""
        assert re.match(expected, shown), shown
        # The phone and the server agree on the other site too, whatever today is.
        assert wednesday.get_attribute("data-hours") == served[wednesday_id]["state"]
        screenshot(page, "hours-monthly-list-fr-dark")

        monthly.locator(".result-main").tap()
        page.wait_for_selector("#detail:not([hidden])")
        section = page.locator("#detail-body .detail-section").filter(has_text="Heures")
        section.scroll_into_view_if_needed()
        hours = section.text_content() or ""
        assert re.search(rf"Fermé · ouvre [a-z]+\. {opens_on.day} {month} 10 h", hours), hours
        screenshot(page, "hours-monthly-detail-fr-dark")
    finally:
        context.close()
