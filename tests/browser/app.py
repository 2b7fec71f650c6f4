"""What the browser tests do with the field client: open it signed in, wait for the list and
the map, read what it shows, and ask the API the same question."""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import create_engine, text

from service.auth.principal import Role
from service.auth.tokens import create_token
from tests.support import PROJECT_ROOT

TORONTO = {"latitude": 43.6534, "longitude": -79.3839}
OTTAWA = (45.4215, -75.6972)
ONTARIO_CENTRES = PROJECT_ROOT / "service" / "data" / "centres" / "ontario.json"
NAVIGATOR_CENTRE = "211-ontario"
WAIT_MS = 30_000


def token_for(role: Role, agency: str, subject: str) -> str:
    return create_token(agency=agency, role=role, subject=subject, ttl=timedelta(hours=2))[0]


def open_app(context, server, token: str):
    """The demo sign-in link: the token in the fragment, taken by the app and removed."""
    page = context.new_page()
    page.goto(f"{server.base_url}/app/#token={token}")
    page.wait_for_selector("#app:not([hidden])", timeout=WAIT_MS)
    wait_list(page)
    return page


def wait_list(page, title: str | None = None):
    page.wait_for_function(
        """(title) => {
            const list = document.querySelector('#nearest-list');
            return list.dataset.loading === 'false' && list.dataset.count !== undefined
                && (!title || document.querySelector('#list-title').textContent.includes(title));
        }""",
        arg=title,
        timeout=WAIT_MS,
    )


def wait_map(page, mode: str | None = None):
    page.wait_for_function(
        """(mode) => {
            const map = document.querySelector('#map');
            return map.dataset.idle === 'true' && (!mode || map.dataset.mode === mode);
        }""",
        arg=mode,
        timeout=WAIT_MS,
    )


def rendered(page, layer: str) -> int:
    return page.evaluate("(layer) => fieldnavDebug.getMap().queryRenderedFeatures({layers: [layer]}).length", layer)


def shown_sites(page) -> list[tuple[str, str]]:
    return [
        tuple(pair)
        for pair in page.eval_on_selector_all(
            "#nearest-list li.result", "els => els.map(e => [e.dataset.serviceId, e.dataset.locationId])"
        )
    ]


def nearest(api, lat: float, lon: float, **params) -> list[dict]:
    response = api.get("/v1/services/nearest", params={"lat": f"{lat:.5f}", "lon": f"{lon:.5f}", "limit": 10, **params})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def ids(results) -> list[tuple[str, str]]:
    return [(r["service_id"], r["location_id"]) for r in results]


def tap(page, selector: str):
    page.locator(selector).first.tap()


def save_default_area(page):
    """Save the default offline area (the Offline tab) and wait until the pack is stored."""
    tap(page, '.tabbar [data-tab="offline"]')
    with page.expect_response(
        lambda r: "/v1/offline/packs" in r.url and r.request.method == "POST", timeout=WAIT_MS
    ) as built:
        tap(page, "#offline-save")
    page.wait_for_selector('#offline-progress[data-state="saved"]', timeout=90_000)
    return built.value.json()


def open_provider(context, server, token: str):
    """The provider view (a provider token's sign-in link): its services listed."""
    page = context.new_page()
    page.goto(f"{server.base_url}/app/#token={token}")
    page.wait_for_selector("#provider:not([hidden])", timeout=WAIT_MS)
    wait_provider(page)
    return page


def wait_provider(page):
    page.wait_for_function(
        "() => Number(document.querySelector('#provider-list').dataset.count || 0) > 0", timeout=WAIT_MS
    )


def organization_of(database_url: str, service_ids: list[str]) -> dict[str, str]:
    """{service id: its organization's id}."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT CAST(id AS text), CAST(organization_id AS text) FROM service "
                    "WHERE CAST(id AS text) = ANY(:ids)"
                ),
                {"ids": service_ids},
            )
            return dict(rows.all())
    finally:
        engine.dispose()


def services_of_organization(database_url: str, organization_id: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                text("SELECT count(*) FROM service WHERE CAST(organization_id AS text) = :org"),
                {"org": organization_id},
            ).scalar_one()
    finally:
        engine.dispose()


def grant_provider(api, admin_api, database_url: str, *, subject: str, agency: str = "front-desk") -> dict:
    """Grant a provider account the organization of a shelter near Toronto that counts beds
    (the smallest such organization: a few services to a screen) through the admin API.
    Returns {token, subject, organization_id, services: [GET /v1/provider/services' services]}."""
    shelters = [
        r
        for r in nearest(api, TORONTO["latitude"], TORONTO["longitude"], category="shelter", limit=30)
        if r["capacity"] and r["capacity"]["unit"] == "beds"
    ]
    organizations = organization_of(database_url, [r["service_id"] for r in shelters])
    organization_id = min(
        dict.fromkeys(organizations[r["service_id"]] for r in shelters),
        key=lambda org: services_of_organization(database_url, org),
    )
    granted = admin_api.put(f"/v1/admin/providers/{subject}/organizations/{organization_id}")
    assert granted.status_code in (200, 201), granted.text
    token = create_token(agency=agency, role=Role.PROVIDER, subject=subject, ttl=timedelta(hours=2))[0]
    listed = api.get("/v1/provider/services", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200, listed.text
    return {
        "token": token,
        "subject": subject,
        "organization_id": organization_id,
        "services": listed.json()["services"],
    }


def choose_place(page, query: str, expected_label_part: str) -> None:
    """Type ``query`` in the place chooser and tap the first result whose label holds ``expected_label_part``."""
    if page.locator("#place").is_hidden():
        tap(page, "#place-open")
    page.locator("#place .place-search").fill(query)
    option = page.locator("#place .place-result").filter(has_text=expected_label_part).first
    option.wait_for(timeout=WAIT_MS)
    option.tap()
    page.wait_for_selector("#place", state="hidden")


EARTH_RADIUS_M = 6_371_008.8  # web/src/geo.js


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The distance the field client computes (web/src/geo.js haversineM)."""
    d_lat, d_lon = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    a = (
        math.sin(d_lat / 2) ** 2
        + math.cos(math.radians(lat1)) * math.cos(math.radians(lat2)) * math.sin(d_lon / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def stored(page, store: str) -> list[dict]:
    """Everything in one of the app's IndexedDB stores (web/src/db.js), as the phone keeps it."""
    return page.evaluate(
        """async (store) => {
            const db = await new Promise((ok, no) => { const r = indexedDB.open('fieldnav'); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
            const items = await new Promise((ok, no) => { const q = db.transaction(store).objectStore(store).getAll(); q.onsuccess = () => ok(q.result); q.onerror = () => no(q.error); });
            db.close();
            return items;
        }""",
        store,
    )
