"""Who serves this address, on a phone (Debian's Chromium, 360x640, French, dark): each card
of the nearest list says whether the service serves the point the list is for ("Dessert
cette adresse"), says so as a notice when it does not ("Hors de sa zone de service"), and
says nothing when its area is unknown; the "Pour qui" sheet's checkbox keeps only the
services that serve it (serves=here), online from the API's `serves_location` and offline
from the saved area's `serves_area` (web/src/offline.js, point in MultiPolygon on the phone).

Screenshots (tests/artifacts/browser): serves-fr-dark, serves-sheet-fr-dark, serves-offline-fr-dark.
"""

from __future__ import annotations

from tests.browser import phone_context, screenshot
from tests.browser.app import (
    OTTAWA,
    TORONTO,
    WAIT_MS,
    haversine_m,
    ids,
    nearest,
    open_app,
    save_default_area,
    shown_sites,
    tap,
    wait_list,
)

TEXT = {"yes": "Dessert cette adresse", "no": "Hors de sa zone de service"}
# The categories a default saved area holds ten of each (web/src/chips.js PRIMARY).
CATEGORIES = ("shelter", "mental_health", "senior_support", "crisis", "food")
# Where to look for a list with both a "yes" and a "no": the demo data's places (a service's
# area is a circle around its first site, so a "no" is a site of a service based elsewhere,
# or one with a small circle a little farther away).
POINTS = [
    (TORONTO["latitude"], TORONTO["longitude"]),
    (43.7000, -79.4200),
    (43.7600, -79.3000),
    (43.6000, -79.5500),
    (43.2557, -79.8711),  # Hamilton
    OTTAWA,
    (42.9849, -81.2453),  # London
    (44.2312, -76.4860),  # Kingston
]
LIMIT = 10  # web/src/nearest.js
SMALL_PHONE = {"width": 320, "height": 640}


def _in_ring(lon: float, lat: float, ring: list) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _serves(site: dict, lat: float, lon: float) -> str:
    """What the phone must say from a saved site's `serves_area`: inside an outer ring and in
    none of its holes (shapely-free: the rule is short)."""
    area = site.get("serves_area")
    if not area:
        return "unknown"
    for polygon in area:
        outer, holes = polygon[0], polygon[1:]
        if _in_ring(lon, lat, outer) and not any(_in_ring(lon, lat, hole) for hole in holes):
            return "yes"
    return "no"


def _find_point(api) -> tuple[float, float, str, list[dict], tuple[str, str], tuple[str, str]]:
    """A point and a category whose nearest list (as the app asks) holds a "yes" and a "no",
    the two as close together and as near the top as the demo data has them (one screen).
    Returns (lat, lon, category, the results, the "yes" site's key, the "no" site's key)."""
    best = None
    for lat, lon in POINTS:
        for category in CATEGORIES:
            results = nearest(api, lat, lon, category=category)
            assert all(r["serves_location"] in ("yes", "no", "unknown") for r in results)
            answers = [r["serves_location"] for r in results]
            for i in (i for i, a in enumerate(answers) if a == "yes"):
                for j in (j for j, a in enumerate(answers) if a == "no"):
                    score = (abs(i - j), max(i, j))
                    if best is None or score < best[0]:
                        keys = [(r["service_id"], r["location_id"]) for r in (results[i], results[j])]
                        best = (score, (lat, lon, category, results, keys[0], keys[1]))
    assert best is not None, "the demo data has services serving, and not serving, some point"
    return best[1]


def _cards(page) -> dict[tuple[str, str], tuple[str, str]]:
    """{(service id, location id): (data-serves, the serves line's words or '')} as shown."""
    return {
        (key[0], key[1]): (key[2], key[3])
        for key in page.eval_on_selector_all(
            "#nearest-list li.result",
            """els => els.map((e) => [e.dataset.serviceId, e.dataset.locationId, e.dataset.serves,
                (e.querySelector('.result-serves')?.textContent || '')])""",
        )
    }


def _assert_lines(cards: dict, expected: dict):
    for key, (serves, words) in cards.items():
        assert serves == expected[key], (key, serves, expected[key])
        assert words == TEXT.get(serves, ""), (key, serves, words)


def _set_serves_here(page, on: bool, shot: str | None = None):
    tap(page, '#filters [data-filter="who"]')
    page.wait_for_selector("#who-panel")
    page.locator("#who-serves").set_checked(on)
    if shot:
        # The sheet scrolls on its own, not the page; on a 320 px phone nothing goes sideways
        # and the checkbox's label is a whole touch target.
        page.set_viewport_size(SMALL_PHONE)
        page.evaluate("() => window.scrollTo(0, 0)")  # Playwright's own scrolling, undone
        panel = page.evaluate(
            """() => {
                const panel = document.querySelector('#who-panel');
                panel.scrollTop = panel.scrollHeight;  // as a thumb would, to the sheet's end
                const label = document.querySelector('#who-serves').closest('label').getBoundingClientRect();
                const apply = document.querySelector('#who-apply').getBoundingClientRect();
                return {sideways: panel.scrollWidth - panel.clientWidth, right: label.right, height: label.height,
                        label: label.bottom, apply: apply.bottom, screen: innerHeight,
                        page: document.scrollingElement.scrollTop};
            }"""
        )
        assert panel["sideways"] <= 1 and panel["right"] <= SMALL_PHONE["width"] and panel["height"] >= 44, panel
        assert panel["page"] == 0 and max(panel["label"], panel["apply"]) <= panel["screen"], panel
        screenshot(page, shot)
        page.set_viewport_size({"width": 360, "height": 640})
    tap(page, "#who-apply")
    page.wait_for_selector("#who-panel", state="detached")


def _card(page, key: tuple[str, str]):
    return page.locator(f'#nearest-list li.result[data-service-id="{key[0]}"][data-location-id="{key[1]}"]')


def _show_both(page, *keys: tuple[str, str]):
    """The list over the whole sheet, scrolled to the lower of the cards."""
    if page.locator("#nearest").get_attribute("data-expanded") != "true":
        tap(page, "#sheet-toggle")
        page.wait_for_selector('#nearest[data-expanded="true"]')
    highest = min(keys, key=lambda key: _card(page, key).bounding_box()["y"])
    # The list scrolls (as a thumb would), the page does not.
    _card(page, highest).evaluate(
        """(el) => {
            const list = el.closest('#nearest-list');
            list.scrollTop += el.getBoundingClientRect().top - list.getBoundingClientRect().top;
            window.scrollTo(0, 0);
        }"""
    )
    for key in keys:
        assert _card(page, key).is_visible()


def test_who_serves_this_address_online_and_offline(server, browser, worker_token, api):
    lat, lon, category, results, yes, no = _find_point(api)
    point = {"latitude": lat, "longitude": lon}
    context = phone_context(browser, geolocation=point, locale="fr-CA", color_scheme="dark")
    try:
        page = open_app(context, server, worker_token)
        if page.evaluate("() => document.documentElement.lang") != "fr":
            tap(page, "#lang-toggle")
            page.wait_for_function("() => document.documentElement.lang === 'fr'")
        manifest = save_default_area(page)
        snapshot = api.get(manifest["urls"]["services"]).json()["services"]
        assert any(s["serves_area"] for s in snapshot) and any(s["serves_area"] is None for s in snapshot)

        # (a) Online: the cards say what the API says.
        tap(page, '.tabbar [data-tab="nearby"]')
        tap(page, f'#chips .chip[data-code="{category}"]')
        wait_list(page)
        page.wait_for_function("() => document.querySelector('#nearest').dataset.source === 'network'", timeout=WAIT_MS)
        assert shown_sites(page) == ids(results)
        cards = _cards(page)
        _assert_lines(cards, {(r["service_id"], r["location_id"]): r["serves_location"] for r in results})
        assert cards[yes] == ("yes", TEXT["yes"]) and cards[no] == ("no", TEXT["no"])
        _show_both(page, yes, no)
        screenshot(page, "serves-fr-dark")

        # (b) The checkbox asks serves=here; the "no" card goes, the others stay in order.
        with page.expect_request(
            lambda r: "/v1/services/nearest" in r.url and "serves=here" in r.url, timeout=WAIT_MS
        ) as asked:
            _set_serves_here(page, True, shot="serves-sheet-fr-dark")
        assert f"category={category}" in asked.value.url
        page.wait_for_function(
            "() => document.querySelector('#filters [data-filter=who]').textContent === 'Pour qui (1)'", timeout=WAIT_MS
        )
        wait_list(page)
        expected = nearest(api, lat, lon, category=category, serves="here")
        assert all(r["serves_location"] in ("yes", "unknown") for r in expected)
        assert shown_sites(page) == ids(expected)
        assert no not in shown_sites(page) and yes in shown_sites(page)
        assert not page.locator('#nearest-list li.result[data-serves="no"]').count()

        # "Tout le monde" clears it too.
        tap(page, '#filters [data-filter="who"]')
        page.wait_for_selector("#who-panel")
        tap(page, "#who-clear")
        page.wait_for_selector("#who-panel", state="detached")
        page.wait_for_function(
            "() => document.querySelector('#filters [data-filter=who]').textContent === 'Pour qui'", timeout=WAIT_MS
        )
        wait_list(page)
        assert shown_sites(page) == ids(results)

        # (c) Offline: the phone works out the same lines from the saved areas (kept through
        # the first sync, which rewrote every saved site).
        stored = page.evaluate(
            """() => new Promise((resolve, reject) => {
                const open = indexedDB.open('fieldnav');
                open.onerror = () => reject(open.error);
                open.onsuccess = () => {
                    const get = open.result.transaction('sites').objectStore('sites').getAll();
                    get.onsuccess = () => resolve(get.result.map((s) => [s.service_id, s.location_id, s.serves_area]));
                };
            })"""
        )
        saved_areas = {(service_id, location_id): area for service_id, location_id, area in stored}
        by_key = {(s["service_id"], s["location_id"]): s for s in snapshot}
        assert saved_areas.keys() == by_key.keys()
        assert all(saved_areas[key] == by_key[key]["serves_area"] for key in by_key)
        phone_says = {key: _serves(site, lat, lon) for key, site in by_key.items()}
        assert phone_says[yes] == "yes" and phone_says[no] == "no"
        api_says = {(r["service_id"], r["location_id"]): r["serves_location"] for r in results}
        assert all(phone_says[key] == api_says[key] for key in api_says if key in phone_says)

        context.set_offline(True)
        other = next(code for code in CATEGORIES if code != category)
        tap(page, f'#chips .chip[data-code="{other}"]')
        tap(page, f'#chips .chip[data-code="{category}"]')
        page.wait_for_function("() => document.querySelector('#nearest').dataset.source === 'phone'", timeout=WAIT_MS)
        wait_list(page)
        cards = _cards(page)
        assert yes in cards and no in cards
        _assert_lines(cards, phone_says)
        _show_both(page, yes, no)
        screenshot(page, "serves-offline-fr-dark")

        # The filter offline: the nearest saved sites of the category that serve the point or
        # have no known area (then up to three confidential ones, "call to connect").
        _set_serves_here(page, True)
        page.wait_for_function(
            "() => document.querySelector('#filters [data-filter=who]').textContent === 'Pour qui (1)'", timeout=WAIT_MS
        )
        wait_list(page)
        shown = shown_sites(page)
        matching = [
            s
            for s in snapshot
            if category in s["category_groups"] and phone_says[(s["service_id"], s["location_id"])] != "no"
        ]
        placed = sorted(
            (s for s in matching if s["lat"] is not None), key=lambda s: haversine_m(lat, lon, s["lat"], s["lon"])
        )[:LIMIT]
        assert shown[: len(placed)] == ids(placed)
        assert no not in shown and yes in shown
        assert all(phone_says[key] != "no" for key in shown)
        _assert_lines(_cards(page), phone_says)
    finally:
        context.close()
