"""The field client as a worker at 3 a.m. uses it: Debian's Chromium at a phone viewport
against `fieldnav serve` on a real PostGIS with the demo data (the fixtures of
tests/test_browser.py: directory reads closed, real tokens).

One test each: a token that ends offline locks nothing (the saved area, the list and the
outbox keep working; the outbox goes after the next sign-in, exactly once); the phone's key
renews an ended token with no typing; the app warns before the end; a women's shelter with
beds, open now, in three taps; rows that answer the question, three to a 390x844 screen; an
offline area sized by its content that says what it holds and what is thin; the filters
offline; a handoff form that keeps everything when a number is refused (on the phone, and by
the server in French); `next_steps` and the reference code after sending; a sign-in link
opened over the sign-in screen; directions in the phone's maps app; one time format per
language; accessibility text without quote marks.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import create_engine, text

from service.auth.principal import Role
from service.auth.tokens import create_token
from tests.browser import phone_context, screenshot
from tests.browser.app import (
    TORONTO,
    WAIT_MS,
    ids,
    nearest,
    open_app,
    save_default_area,
    shown_sites,
    tap,
    wait_list,
    wait_map,
)

TALL_PHONE = {"width": 390, "height": 844}
SUBJECT = "medic-22"

# --- helpers -----------------------------------------------------------------------------------


def _token(*, ttl=timedelta(hours=2), ended=False, subject=SUBJECT) -> str:
    now = datetime.now(UTC) - (timedelta(hours=3) if ended else timedelta(0))
    return create_token(agency="demo", role=Role.FIELD_WORKER, subject=subject, ttl=ttl, now=now)[0]


def _handoffs(database_url: str) -> list[dict]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [
                dict(row._mapping)
                for row in connection.execute(text("SELECT id, reference FROM handoff ORDER BY created_at"))
            ]
    finally:
        engine.dispose()


_META_PUT = """async ([key, value]) => {
    const db = await new Promise((ok, no) => { const r = indexedDB.open('fieldnav'); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
    await new Promise((ok, no) => {
        const tx = db.transaction('meta', 'readwrite');
        tx.objectStore('meta').put(value, key);
        tx.oncomplete = ok; tx.onerror = () => no(tx.error);
    });
    db.close();
}"""


def meta_put(page, key: str, value):
    page.evaluate(_META_PUT, [key, value])


def outbox(page) -> list[dict]:
    return page.evaluate("""async () => {
        const db = await new Promise((ok) => { const r = indexedDB.open('fieldnav'); r.onsuccess = () => ok(r.result); });
        const items = await new Promise((ok) => { const q = db.transaction('outbox').objectStore('outbox').getAll(); q.onsuccess = () => ok(q.result); });
        db.close();
        return items;
    }""")


def edit_outbox_phone(page, number: str):
    """What an older client (or a number the phone let through) would have queued."""
    page.evaluate(
        """async (number) => {
        const db = await new Promise((ok) => { const r = indexedDB.open('fieldnav'); r.onsuccess = () => ok(r.result); });
        await new Promise((ok, no) => {
            const tx = db.transaction('outbox', 'readwrite'), store = tx.objectStore('outbox');
            const q = store.getAll();
            q.onsuccess = () => { for (const item of q.result) { item.body.contact.phone = number; item.form.phone = number; store.put(item); } };
            tx.oncomplete = ok; tx.onerror = () => no(tx.error);
        });
        db.close();
    }""",
        number,
    )


def fill_handoff(page, *, number: str, note: str = "Needs a bed tonight", label: str = "Queen St, 2 a.m."):
    tap(page, '.tabbar [data-tab="handoff"]')
    form = page.locator("#handoff-form")
    form.get_by_label(re.compile("Agrees|Accepte")).check()
    shelter = form.locator('.chip[data-code="shelter"]')
    if shelter.get_attribute("aria-pressed") != "true":  # the chosen category is a need already
        shelter.tap()
    form.locator('input[name="urgency"][value="urgent"]').check()
    form.locator("#handoff-phone").fill(number)
    form.locator("#handoff-note").fill(note)
    form.locator("#handoff-label").fill(label)


def form_values(page) -> dict:
    return page.evaluate("""() => ({
        consent: document.querySelector('input[name=consent]:checked')?.value ?? null,
        needs: [...document.querySelectorAll('#handoff-form .need-chips .chip[aria-pressed=true]')].map((e) => e.dataset.code),
        urgency: document.querySelector('input[name=urgency]:checked')?.value ?? null,
        phone: document.querySelector('#handoff-phone')?.value ?? null,
        note: document.querySelector('#handoff-note')?.value ?? null,
        label: document.querySelector('#handoff-label')?.value ?? null,
    })""")


def pending(page) -> str:
    return page.locator("#net-status").get_attribute("data-pending")


# --- never locked out ------------------------------------------------------------------------------


def test_a_token_that_ends_offline_locks_nothing_and_the_outbox_goes_after_the_next_sign_in(
    server, phone, field_database_url
):
    page = open_app(phone, server, _token())
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=WAIT_MS)
    save_default_area(page)
    tap(page, '.tabbar [data-tab="nearby"]')
    tap(page, '#chips .chip[data-code="shelter"]')
    wait_list(page, "Shelter")

    # 02:00, no signal: the token ends, and this phone has no key to renew it with.
    phone.set_offline(True)
    meta_put(page, "token", _token(ended=True))
    meta_put(page, "device", None)
    page.reload()
    page.wait_for_selector("#app:not([hidden])", timeout=WAIT_MS)
    assert page.locator("#signin").is_hidden()
    page.wait_for_selector('#session-banner[data-kind="lost"]', timeout=WAIT_MS)
    wait_map(page, "pack")
    tap(page, '#chips .chip[data-code="shelter"]')
    wait_list(page, "Shelter")
    assert page.locator("#nearest").get_attribute("data-source") == "phone"
    assert int(page.locator("#nearest-list").get_attribute("data-count")) > 0
    page.locator("#nearest-list li.result .result-main").first.tap()
    page.wait_for_selector("#detail:not([hidden])")
    tap(page, "#detail-back")
    screenshot(page, "signed-out-offline")

    before = len(_handoffs(field_database_url))
    fill_handoff(page, number="416 555 0199")
    tap(page, "#handoff-send")
    page.wait_for_selector('#handoff-list li.outbox[data-state="queued"]')
    assert pending(page) == "1"

    # The signal returns, the server refuses the ended token: nothing is refused for it, the
    # handoff waits for the worker, and the app says so.
    phone.set_offline(False)
    page.wait_for_function("() => document.querySelector('#net-status').dataset.state === 'online'")
    page.wait_for_selector('#session-banner[data-kind="lost"] #session-signin', timeout=WAIT_MS)
    wait_map(page, "pack")  # the server would refuse its tiles: the saved area draws the map
    page.wait_for_timeout(1500)
    assert [item["state"] for item in outbox(page)] == ["queued"]
    assert len(_handoffs(field_database_url)) == before
    assert "1" in page.locator("#session-text").text_content()

    # Signed in again: the handoff goes, exactly once, with nothing retyped.
    tap(page, "#session-signin")
    page.wait_for_selector("#signin:not([hidden])")
    assert page.locator("#signin-close").is_visible()
    page.fill("#signin-token", _token())
    tap(page, "#signin-form button[type=submit]")
    page.wait_for_selector("#app:not([hidden])", timeout=WAIT_MS)
    page.wait_for_selector('#handoff-list li.handoff[data-status="requested"]', timeout=WAIT_MS)
    assert outbox(page) == []
    assert len(_handoffs(field_database_url)) == before + 1
    page.wait_for_selector("#session-banner", state="hidden", timeout=WAIT_MS)


def test_the_phones_key_renews_an_ended_token_with_no_typing(server, phone, field_database_url):
    page = open_app(phone, server, _token())
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=WAIT_MS)
    page.wait_for_function(
        """async () => {
        const db = await new Promise((ok) => { const r = indexedDB.open('fieldnav'); r.onsuccess = () => ok(r.result); });
        const d = await new Promise((ok) => { const q = db.transaction('meta').objectStore('meta').get('device'); q.onsuccess = () => ok(q.result); });
        db.close(); return Boolean(d && d.refreshToken);
    }""",
        timeout=WAIT_MS,
    )
    save_default_area(page)
    key_exportable = page.evaluate("""async () => {
        const db = await new Promise((ok) => { const r = indexedDB.open('fieldnav'); r.onsuccess = () => ok(r.result); });
        const d = await new Promise((ok) => { const q = db.transaction('meta').objectStore('meta').get('device'); q.onsuccess = () => ok(q.result); });
        db.close(); return d.keys.privateKey.extractable;
    }""")
    assert key_exportable is False, "the device key never leaves the browser"

    phone.set_offline(True)
    ended = _token(ended=True)
    meta_put(page, "token", ended)
    page.reload()
    page.wait_for_selector("#app:not([hidden])", timeout=WAIT_MS)
    page.wait_for_selector('#session-banner[data-kind="ended-renews"]', timeout=WAIT_MS)
    assert page.locator("#session-signin").count() == 0
    before = len(_handoffs(field_database_url))
    fill_handoff(page, number="613 555 0123")
    tap(page, "#handoff-send")
    page.wait_for_selector('#handoff-list li.outbox[data-state="queued"]')

    with page.expect_response(lambda r: r.url.endswith("/v1/auth/refresh"), timeout=WAIT_MS) as renewal:
        phone.set_offline(False)
    assert renewal.value.status == 200
    page.wait_for_selector('#handoff-list li.handoff[data-status="requested"]', timeout=WAIT_MS)
    assert len(_handoffs(field_database_url)) == before + 1
    assert page.locator("#signin").is_hidden()
    renewed = page.evaluate("fieldnavDebug.state.token")
    assert renewed != ended
    me = httpx.get(f"{server.base_url}/v1/me", headers={"Authorization": f"Bearer {renewed}"})
    assert me.status_code == 200 and me.json()["subject"] == SUBJECT
    page.wait_for_selector("#session-banner", state="hidden", timeout=WAIT_MS)


def test_the_app_warns_before_the_sign_in_ends_when_it_cannot_renew(server, phone):
    page = phone.new_page()
    page.route("**/v1/auth/devices", lambda route: route.abort())  # an agency token: no device here
    page.goto(f"{server.base_url}/app/#token={_token(ttl=timedelta(minutes=40))}")
    page.wait_for_selector("#app:not([hidden])", timeout=WAIT_MS)
    page.wait_for_selector('#session-banner[data-kind="ending"]', timeout=WAIT_MS)
    assert page.locator("#session-signin").is_visible()
    assert re.search(r"\d{2}:\d{2}", page.locator("#session-text").text_content())
    screenshot(page, "sign-in-ending")


def test_a_sign_in_link_opened_over_the_sign_in_screen_signs_in_and_clears_the_fragment(server, phone):
    page = phone.new_page()
    page.goto(f"{server.base_url}/app/")
    page.wait_for_selector("#signin:not([hidden])", timeout=WAIT_MS)
    page.goto(f"{server.base_url}/app/#token={_token()}")
    page.wait_for_selector("#app:not([hidden])", timeout=WAIT_MS)
    assert "token=" not in page.url
    wait_list(page)


# --- the list and its filters -----------------------------------------------------------------------


def test_a_womens_shelter_with_beds_open_now_in_three_taps(server, browser, worker_token, api):
    context = phone_context(browser, geolocation=TORONTO, viewport=TALL_PHONE)
    try:
        page = open_app(context, server, worker_token)
        tap(page, '#chips .chip[data-code="shelter"]')
        tap(page, '#filters [data-filter="beds-free"]')
        tap(page, '#filters [data-filter="open-now"]')
        page.wait_for_function(
            """() => document.querySelector('#nearest-list').dataset.loading === 'false'
            && document.querySelector('#list-subtitle').textContent.includes('filtered')""",
            timeout=WAIT_MS,
        )
        wait_list(page, "Shelter")
        expected = nearest(
            api, TORONTO["latitude"], TORONTO["longitude"], category="shelter", open_now="true", has_capacity="true"
        )
        assert expected and shown_sites(page) == ids(expected)
        rows = page.locator("#nearest-list li.result")
        for i, site in enumerate(expected):
            row = rows.nth(i)
            assert row.get_attribute("data-hours") == "open"
            assert re.search(rf"\b{site['capacity']['available']} beds free\b", row.locator(".capacity").text_content())
            who = site["eligibility"]["description"]
            assert row.locator(".result-who").text_content().endswith(who)
        # A women's shelter is read off the row, without opening a card.
        women = [i for i, s in enumerate(expected) if "Women" in (s["eligibility"]["description"] or "")]
        assert women, "the demo data has women's shelters with beds near Toronto"
        assert "Women" in rows.nth(women[0]).locator(".result-who").text_content()
        # At least three rows whole on a 390x844 screen, each with its Call button.
        visible = page.evaluate("""() => [...document.querySelectorAll('#nearest-list li.result')].filter((li) => {
            const r = li.getBoundingClientRect(), list = document.querySelector('#nearest-list').getBoundingClientRect();
            return r.top >= list.top - 1 && r.bottom <= Math.min(list.bottom, innerHeight) + 1;
        }).length""")
        assert visible >= 3, visible
        assert rows.first.locator("a.btn-call").get_attribute("href") == expected[0]["phones"][0]["tel"]
        screenshot(page, "three-taps", docs=True)
    finally:
        context.close()


def test_a_count_shows_its_age_and_an_old_count_is_not_green(server, phone, worker_token, api):
    page = open_app(phone, server, worker_token)
    tap(page, '#chips .chip[data-code="shelter"]')
    wait_list(page, "Shelter")
    # The demo counts are 0 to 48 h old: the list holds both fresh and stale ones (12 h).
    badges = page.locator("#nearest-list li.result .capacity")
    states = [(b.get_attribute("data-stale"), b.get_attribute("class").split(), b.text_content()) for b in badges.all()]
    stale = [s for s in states if s[0] == "true"]
    fresh = [s for s in states if s[0] == "false"]
    assert stale and fresh, states
    for _, classes, shown in stale:
        assert "free" not in classes and "full" not in classes and re.search(r"· \d+ h ago", shown), shown
    for _, classes, shown in fresh:
        assert ("free" in classes or "full" in classes) and re.search(r"· (\d+ (min|h) ago|just now)$", shown), shown
    # "Beds free" keeps only fresh counts with a free bed, as the server's has_capacity does.
    tap(page, '#filters [data-filter="beds-free"]')
    page.wait_for_function(
        "() => document.querySelector('#list-subtitle').textContent.includes('filtered')", timeout=WAIT_MS
    )
    wait_list(page, "Shelter")
    filtered = page.locator("#nearest-list li.result .capacity")
    assert filtered.count() > 0
    assert all(
        b.get_attribute("data-stale") == "false" and "free" in b.get_attribute("class").split() for b in filtered.all()
    )


def test_the_age_filter_and_the_filters_offline(server, phone, worker_token, api):
    page = open_app(phone, server, worker_token)
    manifest = save_default_area(page)
    snapshot = api.get(manifest["urls"]["services"]).json()["services"]
    tap(page, '.tabbar [data-tab="nearby"]')
    tap(page, '#filters [data-filter="age"]')
    page.fill("#age-input", "17")
    tap(page, "#age-apply")
    page.wait_for_function("() => document.querySelector('#filters [data-filter=age]').textContent === 'Age 17'")
    wait_list(page)
    expected = nearest(api, TORONTO["latitude"], TORONTO["longitude"], age=17)
    assert shown_sites(page) == ids(expected)

    phone.set_offline(True)
    tap(page, '#filters [data-filter="beds-free"]')
    page.wait_for_function("() => document.querySelector('#nearest').dataset.source === 'phone'", timeout=WAIT_MS)
    wait_list(page)
    shown = shown_sites(page)
    by_id = {(s["service_id"], s["location_id"]): s for s in snapshot}
    assert shown, "beds free for a 17-year-old in the saved area"
    for key in shown:
        site = by_id[key]
        eligibility = site["eligibility"] or {}
        assert site["capacity"]["available"] > 0
        assert (eligibility.get("minimum_age") or 0) <= 17 <= (eligibility.get("maximum_age") or 130)


# --- the offline area -----------------------------------------------------------------------------


def test_the_default_offline_area_holds_enough_of_each_category_and_says_so(server, phone, worker_token, api):
    page = open_app(phone, server, worker_token)
    manifest = save_default_area(page)
    snapshot = api.get(manifest["urls"]["services"]).json()["services"]
    counts: dict[str, int] = {}
    for site in snapshot:
        for code in site["category_groups"]:
            counts[code] = counts.get(code, 0) + 1
    shown = {
        li["code"]: li
        for li in page.eval_on_selector_all(
            "#offline-contents li",
            "els => els.map(e => ({code: e.dataset.code, count: Number(e.dataset.count), thin: e.dataset.thin}))",
        )
    }
    assert set(shown) == {"shelter", "mental_health", "senior_support", "crisis", "food"}
    for code, item in shown.items():
        assert item["count"] == counts.get(code, 0)
        # Where the API finds 10 within the reach limit, the area holds 10.
        reachable = [
            r
            for r in nearest(api, TORONTO["latitude"], TORONTO["longitude"], category=code, max_distance_m=30_000)
            if r["lat"] is not None and not r["distance_is_approximate"]
        ]
        if len(reachable) >= 10:
            assert item["count"] >= 10 and item["thin"] == "false", (code, item)
    screenshot(page, "offline-contents", docs=True)

    # A patrol area of a few blocks: the screen says which categories are thin.
    tap(page, '.tabbar [data-tab="nearby"]')
    page.evaluate("fieldnavDebug.getMap().jumpTo({zoom: 16.5})")
    wait_map(page, "network")
    tap(page, '.tabbar [data-tab="offline"]')
    page.locator('input[name="area-kind"][value="view"]').check()
    tap(page, "#offline-save")
    page.wait_for_selector('#offline-progress[data-state="saved"]', timeout=90_000)
    page.wait_for_selector("#offline-thin", timeout=WAIT_MS)
    thin = page.eval_on_selector_all('#offline-contents li[data-thin="true"]', "els => els.map(e => e.dataset.code)")
    assert thin and page.locator("#offline-thin").is_visible()


def test_a_busy_build_queue_is_waited_for_not_shown_as_a_failure(server, phone, worker_token):
    """The server's answer when every pack build slot is taken (issue 15's queue) is made here
    by the browser's router, because filling the real queue takes minutes of builds; the
    second request goes to the real server."""
    page = open_app(phone, server, worker_token)
    answered: list[int] = []

    def busy_once(route):
        if route.request.method == "POST" and not answered:
            answered.append(503)
            return route.fulfill(
                status=503,
                headers={"Retry-After": "1", "Content-Type": "application/problem+json"},
                body='{"type": "tag:fieldnav.org,2026:problem/pack-builds-busy", "title": "Busy", '
                '"status": 503, "detail": "Every pack build slot is taken."}',
            )
        answered.append(0)
        return route.continue_()

    page.route("**/v1/offline/packs", busy_once)
    tap(page, '.tabbar [data-tab="offline"]')
    tap(page, "#offline-save")
    page.wait_for_function(
        "() => /waiting for the server/.test(document.querySelector('#offline-progress').textContent)", timeout=WAIT_MS
    )
    page.wait_for_selector('#offline-progress[data-state="saved"]', timeout=90_000)
    assert answered[:2] == [503, 0]


# --- the handoff form -----------------------------------------------------------------------------


def test_a_refused_number_keeps_the_form_with_a_french_message_by_the_field(server, phone, field_database_url):
    page = open_app(phone, server, _token())
    tap(page, "#lang-toggle")
    page.wait_for_function("() => document.documentElement.lang === 'fr'")
    before = len(_handoffs(field_database_url))

    # Checked on the phone: a digit short.
    fill_handoff(page, number="416 555 019", label="Rue Queen")
    typed = form_values(page)
    tap(page, "#handoff-send")
    page.wait_for_selector("#handoff-error-phone")
    assert "n’est pas valide" in page.locator("#handoff-error-phone").text_content()
    assert form_values(page) == typed
    assert outbox(page) == [] and pending(page) == "0"

    # Refused by the server (a number the phone let through, queued offline): the item is not
    # counted as waiting, and "Correct and send" gives the whole form back with the server's
    # own French message by the phone field.
    page.locator("#handoff-phone").fill("416 555 0199")
    phone.set_offline(True)
    tap(page, "#handoff-send")
    page.wait_for_selector('#handoff-list li.outbox[data-state="queued"]')
    edit_outbox_phone(page, "123")
    with page.expect_response(
        lambda r: r.url.endswith("/v1/handoffs") and r.request.method == "POST", timeout=WAIT_MS
    ) as refused:
        phone.set_offline(False)
    assert refused.value.status == 422
    server_message = refused.value.json()["errors"][0]["message"]
    assert refused.value.json()["errors"][0]["field"] == "body.contact.phone"
    page.wait_for_selector('#handoff-list li.outbox[data-state="rejected"]', timeout=WAIT_MS)
    page.wait_for_function("() => document.querySelector('#net-status').dataset.pending === '0'")
    assert "à envoyer" not in page.locator("#net-status").text_content()
    page.locator('#handoff-list li.outbox[data-state="rejected"] .btn-primary').tap()
    page.wait_for_selector("#handoff-error-phone")
    assert page.locator("#handoff-error-phone").text_content() == server_message
    assert "123" not in server_message and "valide" in server_message, server_message  # French, as asked
    assert form_values(page) == {**typed, "phone": "123"}
    assert page.locator("#handoff-phone").get_attribute("aria-invalid") == "true"
    screenshot(page, "handoff-refused-fr")
    assert len(_handoffs(field_database_url)) == before


def test_after_sending_the_next_steps_and_a_reference_code_to_read_out(server, phone, field_database_url):
    page = open_app(phone, server, _token())
    fill_handoff(page, number="416 555 0142", label="Corner of Bay")
    with page.expect_response(
        lambda r: r.url.endswith("/v1/handoffs") and r.request.method == "POST", timeout=WAIT_MS
    ) as sent:
        tap(page, "#handoff-send")
    answer = sent.value.json()
    page.wait_for_selector("#handoff-sent", timeout=WAIT_MS)
    assert page.locator("#handoff-next-steps").text_content() == answer["next_steps"]["en"]
    reference = page.locator("#handoff-reference").text_content()
    assert reference == answer["reference"] and re.fullmatch(r"[2-9A-Z]{3}-[2-9A-Z]{3}", reference)
    assert reference in {h["reference"] for h in _handoffs(field_database_url)}
    card = page.locator(f'#handoff-list li[data-handoff-id="{answer["id"]}"]')
    assert card.locator(".handoff-label").text_content().startswith("Corner of Bay")
    assert card.locator(".handoff-needs").text_content() == "Shelter"
    assert reference in card.text_content()
    screenshot(page, "handoff-sent", docs=True)


def test_consent_is_asked_before_anything_else(server, phone, worker_token):
    page = open_app(phone, server, worker_token)
    tap(page, '.tabbar [data-tab="handoff"]')
    form = page.locator("#handoff-form")
    assert form.locator('input[name="consent"]:checked').count() == 0
    assert form.locator('input[name="callback"]').count() == 0, "no callback choice (anonymous) before consent"
    assert form.locator(".need-chips").count() == 0
    form.get_by_label("Declines: anonymous handoff").check()
    assert form.locator('input[name="callback"][value="anonymous"]').is_checked()
    assert form.locator("#handoff-phone").count() == 0


# --- small things ---------------------------------------------------------------------------------


def test_directions_open_the_phones_maps_app(server, browser, worker_token, api):
    agents = {
        "android": (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
            "geo:",
        ),
        "ios": (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "https://maps.apple.com/?daddr=",
        ),
        "other": (None, "https://www.openstreetmap.org/directions"),
    }
    for agent, prefix in agents.values():
        context = phone_context(browser, geolocation=TORONTO, **({"user_agent": agent} if agent else {}))
        try:
            page = open_app(context, server, worker_token)
            first = page.locator("#nearest-list li.result").filter(has_not=page.locator(".result-org")).first
            first.locator(".result-main").tap()
            page.wait_for_selector("#detail:not([hidden])")
            href = page.locator("#detail-directions").get_attribute("href")
            assert href.startswith(prefix), (agent, href)
            if prefix != agents["other"][1]:
                assert page.locator('#detail a[href^="https://www.openstreetmap.org/directions"]').count() == 1
        finally:
            context.close()


def test_one_time_format_a_language_and_no_quote_marks(server, phone, worker_token, api):
    page = open_app(phone, server, worker_token)
    with_access = next(
        r for r in nearest(api, TORONTO["latitude"], TORONTO["longitude"], limit=50) if r["accessibility"]
    )
    for language, wrong, right in (("en", r"\d+ h\b", r"\d{2}:\d{2}"), ("fr", r"\d{2}:\d{2}", r"\d{1,2} h")):
        if language == "fr":
            tap(page, "#lang-toggle")
            page.wait_for_function("() => document.documentElement.lang === 'fr'")
            wait_list(page)
        hours = " ".join(
            page.eval_on_selector_all("#nearest-list .badge[class*=hours-]", "els => els.map(e => e.textContent)")
        )
        assert not re.search(wrong, hours) and re.search(right, hours), (language, hours)
        page.evaluate("(site) => fieldnavDebug.emit('show-site', site)", with_access)
        page.wait_for_selector("#detail:not([hidden])")
        card = page.locator("#detail-body").text_content()
        assert not re.search(wrong, card), (language, card)
        accessibility = page.eval_on_selector_all("#detail-body li", "els => els.map(e => e.textContent)")
        assert accessibility and not any('"' in line for line in accessibility), accessibility
        if language == "fr":
            languages = page.locator("#detail-body .detail-section").filter(has_text="Langues").text_content()
            assert "English" not in languages and ("Anglais" in languages or "Français" in languages), languages
        page.locator("#detail-back").tap()


def test_role_names_are_translated(server, phone, worker_token):
    page = open_app(phone, server, worker_token)
    tap(page, "#lang-toggle")
    page.wait_for_function("() => document.documentElement.lang === 'fr'")
    tap(page, '.tabbar [data-tab="account"]')
    assert "Intervenant terrain" in page.locator("#account-info").text_content()
    assert "field_worker" not in page.locator("#account-info").text_content()
