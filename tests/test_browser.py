"""The reference field client (web/, served at /app/) in a real browser: Debian's Chromium
at a phone viewport (360x640, scale 2) against `fieldnav serve` on a real PostGIS with the
demo data, directory reads closed (FIELDNAV_AUTH_PUBLIC_READS=false) and real tokens.

What it shows, one test each: the map loads and its tile requests answer 200/204 (points
up close, clusters further out, over a generated basemap); tapping 'Shelter' lists the
nearest shelters the API returns; a location refused falls back to a chosen place; a
handoff tapped offline arrives exactly once after going online (even when an answer is
lost on the way) and follows the navigator's moves; a saved area keeps the map, the
filters and the nearest list working offline (after a reload, from the service worker),
and takes a delta on reconnect; French labels appear with the French setting.

Screenshots: tests/artifacts/browser/*.png; the few committed in docs/screenshots (the README
shows one) are refreshed with FIELDNAV_DOCS_SCREENSHOTS=1.
"""

from __future__ import annotations

import json
import uuid

import httpx
from sqlalchemy import create_engine, text

from service.auth.principal import Role
from tests.browser import phone_context, screenshot
from tests.browser.app import (
    NAVIGATOR_CENTRE,
    OTTAWA,
    TORONTO,
    WAIT_MS,
    choose_place,
    ids,
    nearest,
    open_app,
    rendered,
    shown_sites,
    tap,
    token_for,
    wait_list,
    wait_map,
)

# --- the map -----------------------------------------------------------------------------------


def test_map_loads_over_the_basemap_and_its_tiles_answer_200_or_204(server, phone, worker_token, api):
    answers: list[tuple[str, int]] = []
    phone.on(
        "response",
        lambda r: answers.append((r.url, r.status)) if "/v1/tiles/" in r.url or "/v1/basemap/" in r.url else None,
    )
    page = open_app(phone, server, worker_token)
    assert "token=" not in page.url  # taken from the fragment and removed from the address bar
    wait_map(page, "network")
    style_sources = page.evaluate("Object.keys(fieldnavDebug.getMap().getStyle().sources)")
    assert {"services", "basemap"} <= set(style_sources)
    assert rendered(page, "services") > 0, "points near the device location at the points zoom"
    assert rendered(page, "basemap-land-fill") > 0
    screenshot(page, "map")

    # Tapping a point opens that service.
    target = page.evaluate("""() => {
        const map = fieldnavDebug.getMap(), canvas = map.getCanvas().getBoundingClientRect();
        for (const f of map.queryRenderedFeatures({layers: ['services']})) {
            const p = map.project(f.geometry.coordinates);
            if (p.x > 70 && p.x < canvas.width - 70 && p.y > 12 && p.y < canvas.height - 12)  // the controls hug the sides
                return {x: canvas.left + p.x, y: canvas.top + p.y, key: f.id, name: f.properties.name ?? null,
                        zoom: map.getZoom(), lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1]};
        }
        return null;
    }""")
    assert target, "a point away from the map's controls"
    page.touchscreen.tap(target["x"], target["y"])
    page.wait_for_selector("#detail:not([hidden])", timeout=WAIT_MS)
    # A point's feature id is its site key: the app finds the site by it (below the labels zoom,
    # 14, a point carries no name) and shows that service.
    at_point = api.get(
        "/v1/services/nearest",
        params={"lat": round(target["lat"], 5), "lon": round(target["lon"], 5), "limit": 50, "max_distance_m": 200},
    ).json()["results"]
    site = next(r for r in at_point if r["site_key"] == target["key"])
    assert page.locator("#detail").get_attribute("data-service-id") == site["service_id"]
    assert target["zoom"] >= 14 or target["name"] is None
    assert page.locator("#detail-name").text_content() == site["name"]
    tap(page, "#detail-back")

    # Further out: H3 clusters instead of points.
    page.evaluate("fieldnavDebug.getMap().jumpTo({zoom: 9})")
    page.wait_for_timeout(200)
    wait_map(page, "network")
    assert rendered(page, "clusters") > 0 and rendered(page, "services") == 0
    screenshot(page, "map-clusters")

    tiles = [a for a in answers if "/v1/tiles/" in a[0]]
    basemap = [a for a in answers if "/v1/basemap/" in a[0]]
    assert tiles and basemap
    assert {status for _, status in tiles + basemap} <= {200, 204}, answers
    assert all("?v=" in url for url, _ in tiles + basemap), "versioned (immutable) tile URLs from the TileJSON"


def test_tapping_shelter_lists_the_nearest_shelters_the_api_returns(server, phone, worker_token, api):
    page = open_app(phone, server, worker_token)
    label = api.get("/v1/categories").json()["categories"]
    shelter = next(c for c in label if c["code"] == "shelter")["label_en"]
    tap(page, '#chips .chip[data-code="shelter"]')
    wait_list(page, shelter)
    expected = nearest(api, TORONTO["latitude"], TORONTO["longitude"], category="shelter")
    assert len(expected) == 10
    assert shown_sites(page) == ids(expected)
    names = page.eval_on_selector_all("#nearest-list .result-name", "els => els.map(e => e.textContent)")
    assert names == [r["name"] for r in expected]
    assert all(
        "shelter" in g.split(",")
        for g in page.eval_on_selector_all("#nearest-list li.result", "els => els.map(e => e.dataset.groups)")
    )
    first = page.locator("#nearest-list li.result").first
    assert first.locator("a.btn-call").get_attribute("href") == expected[0]["phones"][0]["tel"]
    wait_map(page, "network")  # fitted to the worker and the first shelters: only shelters drawn
    points = page.evaluate(
        "fieldnavDebug.getMap().queryRenderedFeatures({layers: ['services']}).map(f => f.properties.groups)"
    )
    clusters = page.evaluate(
        "fieldnavDebug.getMap().queryRenderedFeatures({layers: ['clusters']}).map(f => f.properties.shelter || 0)"
    )
    assert points or clusters
    assert all("shelter" in groups.split(",") for groups in points) and all(n > 0 for n in clusters)
    screenshot(page, "nearest-shelters", docs=True)

    first.locator(".result-main").tap()
    page.wait_for_selector("#detail:not([hidden])")
    assert page.locator("#detail-name").text_content() == expected[0]["name"]
    assert page.locator('#detail a[href^="tel:"]').count() >= 1
    assert "openstreetmap.org/directions" in page.locator("#detail-directions").get_attribute("href")
    screenshot(page, "service-detail")


def test_a_refused_location_falls_back_to_a_chosen_place(server, browser, worker_token, api):
    context = phone_context(browser)  # no geolocation permission: the position is refused
    try:
        page = context.new_page()
        page.goto(f"{server.base_url}/app/#token={worker_token}")
        page.wait_for_selector("#place:not([hidden])", timeout=WAIT_MS)
        choose_place(page, "Ottawa", "Ottawa")
        page.wait_for_function(
            "() => document.querySelector('#list-subtitle').textContent.includes('Ottawa')", timeout=WAIT_MS
        )
        wait_list(page)
        (place,) = api.get("/v1/places", params={"q": "Ottawa", "limit": 1}).json()[:1]
        assert abs(place["lat"] - OTTAWA[0]) < 0.1 and abs(place["lon"] - OTTAWA[1]) < 0.1
        assert shown_sites(page) == ids(nearest(api, place["lat"], place["lon"]))
        centre = page.evaluate("fieldnavDebug.getMap().getCenter()")
        assert abs(centre["lat"] - place["lat"]) < 0.01 and abs(centre["lng"] - place["lon"]) < 0.01
    finally:
        context.close()


def test_the_sign_in_screen_refuses_a_bad_token_and_accepts_a_good_one(server, phone, worker_token):
    page = phone.new_page()
    page.goto(f"{server.base_url}/app/")
    page.wait_for_selector("#signin:not([hidden])", timeout=WAIT_MS)
    page.fill("#signin-token", worker_token[:-6] + "AAAAAA")  # a signature that does not verify
    tap(page, "#signin-form button[type=submit]")
    page.wait_for_selector("#signin-error:not([hidden])", timeout=WAIT_MS)
    assert "refused" in page.locator("#signin-error").text_content()
    screenshot(page, "sign-in")
    page.fill("#signin-token", worker_token)
    tap(page, "#signin-form button[type=submit]")
    page.wait_for_selector("#app:not([hidden])", timeout=WAIT_MS)
    wait_list(page)
    tap(page, '.tabbar [data-tab="account"]')
    assert "officer-4411" in page.locator("#account-info").text_content()
    # Signed in for good: a restart needs no token again.
    page.reload()
    page.wait_for_selector("#app:not([hidden])", timeout=WAIT_MS)


# --- handoffs --------------------------------------------------------------------------------


def _handoff_count(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM handoff")).scalar_one()
    finally:
        engine.dispose()


def test_a_handoff_tapped_offline_arrives_exactly_once_and_follows_the_navigator(
    server, phone, worker_token, field_database_url
):
    before = _handoff_count(field_database_url)
    page = open_app(phone, server, worker_token)
    tap(page, '.tabbar [data-tab="handoff"]')
    phone.set_offline(True)
    page.wait_for_function("() => document.querySelector('#net-status').dataset.state === 'offline'")

    form = page.locator("#handoff-form")
    form.get_by_label("Agrees (verbal consent)").check()
    form.locator('.chip[data-code="shelter"]').tap()
    form.get_by_label("Urgent").check()
    form.locator("#handoff-phone").fill("416 555 0199")
    form.locator("#handoff-note").fill("Needs a bed tonight")
    tap(page, "#handoff-send")
    page.wait_for_selector('#handoff-list li.outbox[data-state="queued"]')
    page.wait_for_function("() => document.querySelector('#net-status').dataset.pending === '1'")
    screenshot(page, "handoff-queued")
    assert _handoff_count(field_database_url) == before, "nothing reached the server while offline"

    # Back online. The first answer is lost on the way back (the server has the handoff, the
    # phone never hears so): the app must retry with the same Idempotency-Key.
    posts: list[dict] = []

    def lose_first_answer(route):
        if route.request.method != "POST":
            return route.continue_()
        posts.append({"key": route.request.headers.get("idempotency-key"), "body": route.request.post_data})
        if len(posts) == 1:
            answer = route.fetch()
            posts[-1]["status"] = answer.status
            return route.abort("connectionreset")
        return route.continue_()

    page.route("**/v1/handoffs", lose_first_answer)
    with page.expect_response(
        lambda r: r.url.endswith("/v1/handoffs") and r.request.method == "POST", timeout=WAIT_MS
    ) as replay:
        phone.set_offline(False)
    page.wait_for_selector('#handoff-list li.handoff[data-status="requested"]', timeout=WAIT_MS)
    assert replay.value.headers.get("idempotent-replayed") == "true"
    assert posts[0]["status"] == 201 and len(posts) == 2
    assert posts[0]["key"] == posts[1]["key"] and posts[0]["body"] == posts[1]["body"]
    assert page.locator("#handoff-list li.outbox").count() == 0
    assert _handoff_count(field_database_url) == before + 1, "exactly one handoff arrived"

    handoff_id = page.locator('#handoff-list li.handoff[data-status="requested"]').first.get_attribute(
        "data-handoff-id"
    )
    navigator = {"Authorization": f"Bearer {token_for(Role.NAVIGATOR, NAVIGATOR_CENTRE, 'nav-7')}"}
    with httpx.Client(base_url=server.base_url, timeout=30, headers=navigator) as client:
        queue = client.get("/v1/navigator/queue").json()["handoffs"]
        mine = [h for h in queue if h["id"] == handoff_id]
        assert len(mine) == 1 and mine[0]["needs"]["groups"] == ["shelter"] and mine[0]["urgency"] == "urgent"
        assert mine[0]["contact_method"] == "phone"
        claimed = client.post(
            f"/v1/navigator/handoffs/{handoff_id}/claim", json={}, headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        assert claimed.status_code == 200, claimed.text
        page.wait_for_selector(
            f'#handoff-list li[data-handoff-id="{handoff_id}"][data-status="accepted"]', timeout=WAIT_MS
        )
        moved = client.post(
            f"/v1/navigator/handoffs/{handoff_id}/transitions",
            json={"status": "in-progress"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert moved.status_code == 200, moved.text
    page.wait_for_selector(
        f'#handoff-list li[data-handoff-id="{handoff_id}"][data-status="in-progress"]', timeout=WAIT_MS
    )
    assert (
        page.locator(f'#handoff-list li[data-handoff-id="{handoff_id}"] .handoff-status').text_content()
        == "In progress"
    )
    screenshot(page, "handoff-status", docs=True)


# --- offline -----------------------------------------------------------------------------------


def _delta_shelter(lat: float, lon: float) -> dict:
    """One new shelter, as an HSDS 3 compiled service, a few metres from the worker."""
    service_id, location_id = str(uuid.uuid4()), str(uuid.uuid4())
    return {
        "id": service_id,
        "name": "Delta Street Warming Shelter",
        "status": "active",
        "description": "Overnight shelter opened after the area was saved.",
        "organization": {"id": str(uuid.uuid4()), "name": "Delta Street Outreach"},
        "phones": [{"id": str(uuid.uuid4()), "number": "416-555-0142", "type": "voice"}],
        "schedules": [
            {
                "id": str(uuid.uuid4()),
                "freq": "WEEKLY",
                "byday": "MO,TU,WE,TH,FR,SA,SU",
                "opens_at": "00:00",
                "closes_at": "00:00",
                "timezone": "America/Toronto",
            }
        ],
        "service_at_locations": [
            {
                "id": str(uuid.uuid4()),
                "service_id": service_id,
                "location_id": location_id,
                "location": {
                    "id": location_id,
                    "location_type": "physical",
                    "name": "Delta Street Outreach",
                    "latitude": lat,
                    "longitude": lon,
                    "addresses": [
                        {
                            "id": str(uuid.uuid4()),
                            "location_id": location_id,
                            "address_1": "1 Delta Street",
                            "city": "Toronto",
                            "state_province": "ON",
                            "postal_code": "M5H 2N2",
                            "country": "CA",
                            "address_type": "physical",
                        }
                    ],
                },
            }
        ],
    }


def _offline_expected(snapshot_sites: list[dict], lat: float, lon: float, category: str) -> list[tuple[str, str]]:
    """The app's own rule offline: haversine distance to public sites of the category, 10
    nearest; then up to 3 confidential sites of the category (no position: call to connect)."""
    import math

    def haversine(a_lat, a_lon, b_lat, b_lon):
        p1, p2 = math.radians(a_lat), math.radians(b_lat)
        h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b_lon - a_lon) / 2) ** 2
        return 2 * 6_371_008.8 * math.asin(min(1, math.sqrt(h)))

    of_category = [s for s in snapshot_sites if category in s["category_groups"]]
    placed = [s for s in of_category if s["lat"] is not None]
    placed.sort(key=lambda s: haversine(lat, lon, s["lat"], s["lon"]))
    confidential = [s for s in of_category if s["confidential"]][:3]
    return [(s["service_id"], s["location_id"]) for s in placed[:10] + confidential]


def test_a_saved_area_keeps_map_filters_and_list_working_offline_and_syncs_on_reconnect(
    server, phone, worker_token, api, field_database_url, tmp_path
):
    page = open_app(phone, server, worker_token)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=WAIT_MS)
    wait_map(page, "network")
    page.evaluate("fieldnavDebug.getMap().jumpTo({zoom: 10})")
    page.wait_for_timeout(200)
    wait_map(page, "network")

    tap(page, '.tabbar [data-tab="offline"]')
    with page.expect_response(lambda r: "/v1/offline/packs" in r.url and r.request.method == "POST") as built:
        tap(page, "#offline-save")
    manifest = built.value.json()
    page.wait_for_selector('#offline-progress[data-state="saved"]', timeout=60_000)
    assert manifest["basemap"] and manifest["urls"]["basemap"], "the server's basemap goes in the pack"
    snapshot = api.get(manifest["urls"]["services"]).json()["services"]
    assert int(page.locator("#offline-summary").get_attribute("data-sites")) >= len(snapshot) > 0
    tap(page, '.tabbar [data-tab="nearby"]')
    tap(page, '#chips .chip[data-code="shelter"]')
    wait_list(page, "Shelter")
    online_list = shown_sites(page)

    # No network: the map draws from the phone's archives, the list from its snapshot.
    failed: list[str] = []
    phone.on("requestfailed", lambda r: failed.append(r.url))
    phone.set_offline(True)
    wait_map(page, "pack")
    wait_list(page, "Shelter")
    assert page.locator("#nearest").get_attribute("data-source") == "phone"
    offline_list = shown_sites(page)
    lat, lon = TORONTO["latitude"], TORONTO["longitude"]
    assert offline_list == _offline_expected(snapshot, lat, lon, "shelter")
    # The API's own answer (geodesic distances), cut to the saved area, agrees but for near ties.
    west, south, east, north = manifest["bbox"]
    api_results = [
        r
        for r in nearest(api, lat, lon, category="shelter", limit=50)
        if r["lat"] is not None and west <= r["lon"] <= east and south <= r["lat"] <= north
    ]
    in_area = [(r["service_id"], r["location_id"]) for r in api_results]
    # "Open now" computed on the phone from week_intervals agrees with the server's.
    server_hours = {(r["service_id"], r["location_id"]): r["hours"]["state"] for r in api_results}
    phone_hours = page.eval_on_selector_all(
        "#nearest-list li.result",
        """els => els.map(e => [e.dataset.serviceId,
        e.dataset.locationId, e.querySelector('.badge[class*=hours-]').className.match(/hours-(\\w+)/)[1]])""",
    )
    compared = [(tuple(h[:2]), h[2]) for h in phone_hours if tuple(h[:2]) in server_hours]
    assert compared and all(state == server_hours[key] for key, state in compared), (compared, server_hours)
    confidential = {(s["service_id"], s["location_id"]) for s in snapshot if s["confidential"]}
    placed_list = [key for key in offline_list if key not in confidential]
    assert len(placed_list) == min(10, len(in_area)) >= 5
    assert len(set(placed_list) & set(in_area[: len(placed_list)])) >= len(placed_list) - 1
    assert placed_list[: len(set(online_list) & set(in_area))] != [] and set(online_list) & set(placed_list)
    # Drawn from the phone: shelters (points or clusters) over the saved basemap.
    assert rendered(page, "services") + rendered(page, "clusters") > 0
    assert rendered(page, "basemap-water-fill") + rendered(page, "basemap-land-fill") > 0
    screenshot(page, "offline-map-and-list", docs=True)

    # Started again without a network: the service worker serves the app, the phone the rest.
    reloaded = page.reload()
    assert reloaded.from_service_worker
    page.wait_for_selector("#app:not([hidden])", timeout=WAIT_MS)
    wait_map(page, "pack")
    wait_list(page)
    assert page.locator("#net-status").get_attribute("data-state") == "offline"
    tap(page, '#chips .chip[data-code="food"]')
    wait_list(page, "Food")
    food = page.eval_on_selector_all("#nearest-list li.result", "els => els.map(e => e.dataset.groups)")
    assert food and all("food" in groups.split(",") for groups in food)
    assert shown_sites(page) == _offline_expected(snapshot, lat, lon, "food")
    wait_map(page, "pack")
    points = page.evaluate(
        "fieldnavDebug.getMap().queryRenderedFeatures({layers: ['services']}).map(f => f.properties.groups)"
    )
    clusters = page.evaluate(
        "fieldnavDebug.getMap().queryRenderedFeatures({layers: ['clusters']}).map(f => f.properties.food || 0)"
    )
    assert points or clusters
    assert all("food" in groups.split(",") for groups in points) and all(n > 0 for n in clusters)
    assert not [url for url in failed if "/v1/tiles/" in url], "no tile was asked of the network offline"

    # Meanwhile a new shelter opens near the worker. Back online, the app syncs the delta.
    from service.importer import import_path

    path = tmp_path / "delta.json"
    path.write_text(json.dumps([_delta_shelter(lat + 0.0004, lon + 0.0003)]))
    engine = create_engine(field_database_url)
    try:
        import_path(engine, path, source="browser-delta")
    finally:
        engine.dispose()
    tap(page, '#chips .chip[data-code="shelter"]')
    wait_list(page, "Shelter")
    with page.expect_response(lambda r: "/v1/sync/services?cursor=" in r.url, timeout=WAIT_MS) as delta:
        phone.set_offline(False)
    body = delta.value.json()
    assert body["mode"] == "delta" and [s["sites"][0]["name"] for s in body["services"]] == [
        "Delta Street Warming Shelter"
    ]
    page.wait_for_function("() => fieldnavDebug.state.pack && fieldnavDebug.state.pack.syncedAt > 0")
    page.wait_for_timeout(500)
    phone.set_offline(True)
    wait_list(page, "Shelter")
    page.wait_for_function("() => document.querySelector('#nearest').dataset.source === 'phone'")
    assert page.locator("#nearest-list .result-name").first.text_content() == "Delta Street Warming Shelter"


# --- languages ---------------------------------------------------------------------------------


def test_french_labels_appear_with_the_french_setting(server, phone, worker_token, api):
    page = open_app(phone, server, worker_token)
    tap(page, "#lang-toggle")
    page.wait_for_function("() => document.documentElement.lang === 'fr'")
    categories = {c["code"]: c for c in api.get("/v1/categories").json()["categories"]}
    chips = page.eval_on_selector_all("#chips .chip[data-code]", "els => els.map(e => [e.dataset.code, e.textContent])")
    assert [code for code, _ in chips] == ["shelter", "mental_health", "senior_support", "crisis", "food"]
    assert all(label == categories[code]["label_fr"] for code, label in chips)
    assert page.locator('.tabbar [data-tab="nearby"]').text_content() == "À proximité"
    assert page.locator("#list-title").text_content() == "Services les plus proches"
    assert page.locator("#net-status").text_content() == "En ligne"
    tap(page, "#chips .chip-more")
    assert page.locator('#chips .chip[data-code="legal"]').text_content() == categories["legal"]["label_fr"]
    tap(page, '#chips .chip[data-code="shelter"]')
    wait_list(page, categories["shelter"]["label_fr"])
    assert page.locator("#list-title").text_content() == categories["shelter"]["label_fr"]
    tap(page, "#chips .chip-more")
    page.evaluate("document.querySelector('#chips').scrollLeft = 0")
    screenshot(page, "french", docs=True)
    # The choice is kept for the next start.
    page.reload()
    page.wait_for_selector("#app:not([hidden])", timeout=WAIT_MS)
    assert page.locator('.tabbar [data-tab="handoff"]').text_content() == "211"
    assert page.evaluate("document.documentElement.lang") == "fr"
