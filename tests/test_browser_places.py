"""The place chooser as a worker uses it (web/src/places.js against GET /v1/places on a real
PostGIS): the person lives somewhere else, so the worker types a town, a postal code prefix
or a street address; choosing one moves the map and the list there. In French, at night.

Screenshot (tests/artifacts/browser): place-search-fr-dark.
"""

from __future__ import annotations

import math

from sqlalchemy import create_engine, text

from tests.browser import phone_context, screenshot
from tests.browser.app import TORONTO, WAIT_MS, choose_place, open_app, tap, wait_list

# A public street address of the demo directory, with its postal code (confidential ones are
# never places: tests/test_places.py).
_AN_ADDRESS = text("""
SELECT a.address_1, a.postal_code, l.latitude::float8 AS latitude, l.longitude::float8 AS longitude
FROM address a JOIN location l ON l.id = a.location_id
WHERE NOT l.address_private AND l.latitude IS NOT NULL AND a.address_1 ~ '^[0-9]+ ' AND a.postal_code IS NOT NULL
ORDER BY a.id LIMIT 1
""")


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dy = (lat2 - lat1) * 111_320
    dx = (lon2 - lon1) * 111_320 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(dx, dy)


def _an_address(database_url: str) -> dict:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(_AN_ADDRESS).one()._mapping)
    finally:
        engine.dispose()


def _map_centre(page) -> tuple[float, float]:
    centre = page.evaluate("() => fieldnavDebug.getMap().getCenter().toArray()")
    return centre[1], centre[0]


def test_typing_a_place_moves_the_map_and_the_list(server, browser, worker_token, field_database_url):
    address = _an_address(field_database_url)
    context = phone_context(browser, geolocation=TORONTO, locale="fr-CA", color_scheme="dark")
    try:
        page = open_app(context, server, worker_token)
        if page.evaluate("() => document.documentElement.lang") != "fr":
            tap(page, "#lang-toggle")
            page.wait_for_function("() => document.documentElement.lang === 'fr'")

        # A town far from the worker: the list is now "depuis Pembroke", the map is there.
        choose_place(page, "Pembroke", "Pembroke")
        wait_list(page)
        page.wait_for_function("() => document.querySelector('#list-subtitle').textContent.includes('Pembroke')")
        page.wait_for_function("() => Math.abs(fieldnavDebug.getMap().getCenter().lat - 45.82) < 0.1", timeout=WAIT_MS)
        assert page.evaluate("() => fieldnavDebug.state.origin.source") == "place"

        # A street address of the directory: the origin is that address's point.
        choose_place(page, address["address_1"], address["address_1"])
        wait_list(page)
        origin = page.evaluate("() => fieldnavDebug.state.origin")
        assert _distance_m(origin["lat"], origin["lon"], address["latitude"], address["longitude"]) < 50, origin
        page.wait_for_function(
            f"() => Math.abs(fieldnavDebug.getMap().getCenter().lat - {address['latitude']}) < 0.01", timeout=WAIT_MS
        )

        # A postal-code prefix (its first three characters), as a worker types it.
        prefix = address["postal_code"].replace(" ", "")[:3].lower()
        tap(page, "#place-open")
        page.locator("#place .place-search").fill(prefix)
        page.locator("#place .place-result").first.wait_for(timeout=WAIT_MS)
        screenshot(page, "place-search-fr-dark")
        labels = page.locator("#place .place-result .place-label").all_text_contents()
        assert any(label.upper().startswith(prefix.upper()) for label in labels), labels
        page.locator("#place .place-result").first.tap()
        page.wait_for_selector("#place", state="hidden")
        wait_list(page)
        lat, lon = _map_centre(page)
        assert _distance_m(lat, lon, address["latitude"], address["longitude"]) < 20_000
    finally:
        context.close()
