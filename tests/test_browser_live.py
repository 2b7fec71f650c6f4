"""Live data in the field client (issue 16): Debian's Chromium at a phone viewport against
`fieldnav serve` on a real PostGIS with the demo data (the fixtures of tests/browser).

One test each: the provider view updates a count (sign in as a provider, +, Save; the API
shows the new count; a Save whose answer is lost, or refused as busy, goes again with the same
Idempotency-Key); the age of a count ("13 beds free · 2 h ago") and a stale one greyed, in
English and French, online and offline (judged on the phone with the server's
`capacity_stale_after_s`, and left out of "Beds free"); a report of wrong data tapped offline
arrives exactly once, a second one of the same kind is "already reported", and the next
worker and the provider see the warning.

Screenshots (tests/artifacts/browser; those marked docs also in docs/screenshots): the provider
view and the report form at 390x844, offline, at night (dark), in French.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text

from service.auth.principal import Role
from tests.browser import phone_context, screenshot
from tests.browser.app import (
    TORONTO,
    WAIT_MS,
    nearest,
    open_app,
    open_provider,
    tap,
    token_for,
    wait_list,
    wait_provider,
)

TALL_PHONE = {"width": 390, "height": 844}
LAT, LON = TORONTO["latitude"], TORONTO["longitude"]


def _put_count(
    admin_api, service_id: str, available: int, *, age: timedelta, unit: str = "beds", maximum: int | None = None
):
    entry = {"unit": unit, "available": available, "updated": (datetime.now(UTC) - age).isoformat()}
    if maximum is not None:
        entry["maximum"] = maximum
    answer = admin_api.put(
        f"/v1/services/{service_id}/capacity",
        json={"capacities": [entry]},
        headers={"Idempotency-Key": f"test-{service_id}-{available}-{age.total_seconds()}"},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _row(page, service_id: str):
    return page.locator(f'#nearest-list li.result[data-service-id="{service_id}"]').first


def _colour(locator) -> str:
    return locator.evaluate("(e) => getComputedStyle(e).color")


# --- the provider view ---------------------------------------------------------------------------


def test_the_provider_view_updates_a_count_once_whatever_the_network_does(server, browser, provider, admin_api, api):
    service = next(s for s in provider["services"] if any(c["unit"] == "beds" for c in s["capacities"]))
    service_id = service["service_id"]
    beds = next(c for c in service["capacities"] if c["unit"] == "beds")
    if beds["maximum"] is not None and beds["available"] >= beds["maximum"]:
        beds = _put_count(
            admin_api, service_id, beds["maximum"] - 1, age=timedelta(minutes=5), maximum=beds["maximum"]
        )["capacities"][0]
    before = beds["available"]

    context = phone_context(browser, geolocation=TORONTO, viewport=TALL_PHONE)
    asked: list[str] = []
    context.on("request", lambda r: asked.append(r.url))
    try:
        page = open_provider(context, server, provider["token"])
        # The provider view instead of the map: nothing of the field worker's app is asked for
        # (the server would refuse a provider its directory, tiles and sync).
        assert page.locator("#app").is_hidden() and page.locator("#signin").is_hidden()
        assert not [u for u in asked if re.search(r"/v1/(services/nearest|tiles|sync|categories|basemap)", u)], asked
        cards = page.locator("#provider-list article.provider-service")
        assert cards.count() == len(provider["services"])
        card = page.locator(f'#provider-list [data-service-id="{service_id}"]')
        assert card.locator(".provider-name").text_content() == service["name"]
        row = card.locator('.count-row[data-unit="beds"]')
        assert row.locator("input").input_value() == str(before)
        # Every button a thumb can find: 44 px and more.
        for button in [*row.locator("button").all(), card.locator(".provider-save")]:
            box = button.bounding_box()
            assert box["width"] >= 44 and box["height"] >= 44, box
        assert card.locator(".provider-save").is_disabled()  # nothing changed yet

        # +, Save. The first answer: 503 directory-busy (an import holds the directory): the app
        # waits as told and sends again by itself. The second is lost on the way back (the server
        # has the count). Save again: the same key, the server's first answer replayed.
        puts: list[dict] = []

        def flaky(route):
            if route.request.method != "PUT":
                return route.continue_()
            puts.append({"key": route.request.headers.get("idempotency-key"), "body": route.request.post_data})
            if len(puts) == 1:
                return route.fulfill(
                    status=503,
                    headers={"Retry-After": "1", "Content-Type": "application/problem+json"},
                    body='{"type": "tag:fieldnav.org,2026:problem/directory-busy", "title": "Busy", '
                    '"status": 503, "detail": "An import holds the directory."}',
                )
            if len(puts) == 2:
                answer = route.fetch()
                puts[-1]["status"] = answer.status
                return route.abort("connectionreset")
            return route.continue_()

        page.route(f"**/v1/services/{service_id}/capacity", flaky)
        row.locator(".step-plus").tap()
        assert row.locator("input").input_value() == str(before + 1)
        assert card.locator(".provider-status").text_content() == "Not saved yet"
        card.locator(".provider-save").tap()
        page.wait_for_function(
            "(id) => document.querySelector(`[data-service-id='${id}']`).dataset.status === 'offline'",
            arg=service_id,
            timeout=WAIT_MS,
        )
        assert "No network" in card.locator(".provider-status").text_content()
        with page.expect_response(
            lambda r: r.url.endswith(f"/v1/services/{service_id}/capacity") and r.request.method == "PUT",
            timeout=WAIT_MS,
        ) as replay:
            card.locator(".provider-save").tap()
        page.wait_for_function(
            "(id) => document.querySelector(`[data-service-id='${id}']`).dataset.status === 'saved'",
            arg=service_id,
            timeout=WAIT_MS,
        )
        assert replay.value.headers.get("idempotent-replayed") == "true"
        assert len(puts) == 3 and puts[1]["status"] == 200
        assert puts[0]["key"] == puts[1]["key"] == puts[2]["key"] and puts[0]["body"] == puts[2]["body"]
        assert card.locator(".provider-status").text_content() == "Saved · just now"
        assert re.search(rf"\b{before + 1} beds? free · just now", card.locator(".count-shown").text_content())

        # What everyone sees now.
        shown = admin_api.get(f"/v1/services/{service_id}/capacity").json()
        counted = next(c for c in shown["capacities"] if c["unit"] == "beds")
        assert counted["available"] == before + 1 and counted["origin"] == "live" and counted["stale"] is False
        assert [h["new"]["available"] for h in shown["history"] if h["by"]["subject"] == provider["subject"]] == [
            before + 1
        ]
        near = [r for r in nearest(api, LAT, LON, category="shelter", limit=50) if r["service_id"] == service_id]
        assert near and all(r["capacity"]["available"] == before + 1 for r in near if r["capacity"]["unit"] == "beds")

        # Full: one tap, then Save; and the next change gets a new key.
        page.unroute(f"**/v1/services/{service_id}/capacity")
        row.locator(".full-button").tap()
        with page.expect_request(
            lambda r: r.url.endswith(f"/v1/services/{service_id}/capacity") and r.method == "PUT"
        ) as full:
            card.locator(".provider-save").tap()
        page.wait_for_function(
            "(id) => document.querySelector(`[data-service-id='${id}']`).dataset.status === 'saved'",
            arg=service_id,
            timeout=WAIT_MS,
        )
        assert full.value.headers["idempotency-key"] != puts[0]["key"]
        counted = next(
            c for c in admin_api.get(f"/v1/services/{service_id}/capacity").json()["capacities"] if c["unit"] == "beds"
        )
        assert counted["available"] == 0 and counted["state"] == "full"
        screenshot(page, "provider-saved")
    finally:
        context.close()


def test_the_server_refuses_a_count_in_french_by_the_count_at_fault(server, browser, provider):
    service = next(s for s in provider["services"] if any(c["unit"] == "beds" for c in s["capacities"]))
    context = phone_context(browser, geolocation=TORONTO, locale="fr-CA")
    try:
        page = open_provider(context, server, provider["token"])
        card = page.locator(f'#provider-list [data-service-id="{service["service_id"]}"]')
        row = card.locator('.count-row[data-unit="beds"]')
        # A count the phone lets through but the server refuses (here: the router says what the
        # server says of a count above its maximum, for a maximum the phone has not seen yet).
        page.route(
            f"**/v1/services/{service['service_id']}/capacity",
            lambda route: route.fulfill(
                status=422,
                headers={"Content-Type": "application/problem+json"},
                body='{"type": "tag:fieldnav.org,2026:problem/validation-error", "title": "Requête invalide", "status": 422, '
                '"detail": "La requête contient 1 erreur.", "errors": [{"field": "body.capacities.0", '
                '"message": "Le nombre disponible dépasse le maximum : vérifiez les deux nombres.", "code": "available_above_maximum"}]}',
            ),
        )
        row.locator(".step-plus").tap()
        card.locator(".provider-save").tap()
        page.wait_for_selector(
            f'[data-service-id="{service["service_id"]}"] .count-row[data-unit="beds"] .field-error', timeout=WAIT_MS
        )
        assert (
            row.locator(".field-error").text_content()
            == "Le nombre disponible dépasse le maximum : vérifiez les deux nombres."
        )
        assert row.locator("input").get_attribute("aria-invalid") == "true"
        assert card.get_attribute("data-status") == "error"
        assert page.locator("#provider h2").first.text_content() == "Mes services"
        # Typed on the phone: a number it cannot send is refused before it goes.
        row.locator("input").fill("-3")
        card.locator(".provider-save").tap()
        assert row.locator(".field-error").text_content() == "Entrez un nombre entier, 0 ou plus."
    finally:
        context.close()


# --- freshness ---------------------------------------------------------------------------------------


def test_a_count_says_how_old_it_is_and_a_stale_one_is_grey_online_and_offline(server, browser, api, admin_api):
    # Two of the 10 nearest shelters whose count (if any) is older than the ones given here.
    long_ago = datetime.now(UTC) - timedelta(hours=14)
    shelters = [
        r
        for r in nearest(api, LAT, LON, category="shelter", limit=10)
        if r["lat"] is not None and (r["capacity"] is None or datetime.fromisoformat(r["capacity"]["as_of"]) < long_ago)
    ]
    fresh, old = shelters[:2]
    _put_count(admin_api, fresh["service_id"], 13, age=timedelta(hours=2))
    _put_count(admin_api, old["service_id"], 4, age=timedelta(hours=13))
    context = phone_context(browser, geolocation=TORONTO, viewport=TALL_PHONE)
    try:
        page = open_app(context, server, token_for(Role.FIELD_WORKER, "demo", "outreach-9"))
        tap(page, '#chips .chip[data-code="shelter"]')
        wait_list(page, "Shelter")
        green = (
            _colour(page.locator(".hours-open").first) if page.locator(".hours-open").count() else "rgb(27, 122, 58)"
        )
        for language, texts in (
            ("en", ("13 beds free · 2 h ago", "4 beds free · 13 h ago")),
            ("fr", ("13 lits libres · il y a 2 h", "4 lits libres · il y a 13 h")),
        ):
            if language == "fr":
                tap(page, "#lang-toggle")
                page.wait_for_function("() => document.documentElement.lang === 'fr'")
                wait_list(page)
            badge = _row(page, fresh["service_id"]).locator(".capacity")
            assert badge.text_content() == texts[0]
            assert badge.get_attribute("data-stale") == "false" and "free" in badge.get_attribute("class").split()
            stale = _row(page, old["service_id"]).locator(".capacity")
            assert stale.text_content().startswith(texts[1]), stale.text_content()
            assert stale.get_attribute("data-stale") == "true" and "stale" in stale.get_attribute("class").split()
            assert "free" not in stale.get_attribute("class").split()
            assert _colour(stale) != _colour(badge) and _colour(stale) != green
            assert stale.evaluate("(e) => getComputedStyle(e).borderTopStyle") == "dashed"  # not colour alone
        # The card: every unit, with its age.
        _row(page, fresh["service_id"]).locator(".result-main").tap()
        page.wait_for_selector("#detail:not([hidden])")
        assert "13 lits libres · il y a 2 h" in page.locator("#detail-capacity").text_content()
        tap(page, "#detail-back")
        tap(page, "#lang-toggle")
        page.wait_for_function("() => document.documentElement.lang === 'en'")

        # Beds free, online: the server leaves the stale count out.
        tap(page, '#filters [data-filter="beds-free"]')
        page.wait_for_function(
            "() => document.querySelector('#list-subtitle').textContent.includes('filtered')", timeout=WAIT_MS
        )
        wait_list(page, "Shelter")
        shown = page.eval_on_selector_all("#nearest-list li.result", "els => els.map(e => e.dataset.serviceId)")
        assert fresh["service_id"] in shown and old["service_id"] not in shown
        assert page.eval_on_selector_all("#nearest-list .capacity", "els => els.map(e => e.dataset.stale)") == [
            "false"
        ] * len(shown)
        tap(page, '#filters [data-filter="beds-free"]')
        wait_list(page, "Shelter")

        # Offline, the phone judges its saved counts itself, by what the server said of staleness
        # (the pack snapshot's capacity_stale_after_s), not by a number of its own.
        tap(page, '.tabbar [data-tab="offline"]')
        with page.expect_response(lambda r: "/services.json" in r.url, timeout=90_000) as snapshot:
            tap(page, "#offline-save")
        assert snapshot.value.json()["capacity_stale_after_s"] == 43200
        page.wait_for_selector('#offline-progress[data-state="saved"]', timeout=90_000)
        assert page.evaluate("fieldnavDebug.state.capacityStaleAfterS") == 43200
        tap(page, '.tabbar [data-tab="nearby"]')
        context.set_offline(True)
        page.wait_for_function("() => document.querySelector('#nearest').dataset.source === 'phone'", timeout=WAIT_MS)
        wait_list(page, "Shelter")
        assert _row(page, fresh["service_id"]).locator(".capacity").get_attribute("data-stale") == "false"
        assert _row(page, old["service_id"]).locator(".capacity").get_attribute("data-stale") == "true"
        assert _row(page, old["service_id"]).locator(".capacity").text_content().startswith("4 beds free · 13 h ago")
        tap(page, '#filters [data-filter="beds-free"]')
        page.wait_for_function(
            "() => document.querySelector('#list-subtitle').textContent.includes('filtered')", timeout=WAIT_MS
        )
        wait_list(page, "Shelter")
        shown = page.eval_on_selector_all("#nearest-list li.result", "els => els.map(e => e.dataset.serviceId)")
        assert fresh["service_id"] in shown and old["service_id"] not in shown
        # A server that calls a count stale after 1 h (its next sync page would say so): the
        # 2-hour-old count is then stale on the phone too, and no longer a free bed.
        page.evaluate("fieldnavDebug.state.capacityStaleAfterS = 3600")
        tap(page, '#filters [data-filter="beds-free"]')
        wait_list(page, "Shelter")
        assert _row(page, fresh["service_id"]).locator(".capacity").get_attribute("data-stale") == "true"
        tap(page, '#filters [data-filter="beds-free"]')
        wait_list(page, "Shelter")
        assert fresh["service_id"] not in page.eval_on_selector_all(
            "#nearest-list li.result", "els => els.map(e => e.dataset.serviceId)"
        )
    finally:
        context.close()


# --- field reports -------------------------------------------------------------------------------------


def _reports(database_url: str, service_id: str) -> list[dict]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [
                dict(row._mapping)
                for row in connection.execute(
                    text(
                        "SELECT id, kind, note, status, location IS NOT NULL AS located FROM field_report "
                        "WHERE CAST(service_id AS text) = :id ORDER BY created_at"
                    ),
                    {"id": service_id},
                )
            ]
    finally:
        engine.dispose()


def _site(api, service_id: str) -> dict:
    return next(r for r in nearest(api, LAT, LON, category="shelter", limit=50) if r["service_id"] == service_id)


def _show(page, site: dict):
    page.evaluate("(site) => fieldnavDebug.emit('show-site', site)", site)
    page.wait_for_selector("#detail:not([hidden])", timeout=WAIT_MS)


def _report_outbox(page) -> list[dict]:
    return page.evaluate("""async () => {
        const db = await new Promise((ok) => { const r = indexedDB.open('fieldnav'); r.onsuccess = () => ok(r.result); });
        const items = await new Promise((ok) => { const q = db.transaction('reports').objectStore('reports').getAll(); q.onsuccess = () => ok(q.result); });
        db.close();
        return items;
    }""")


def _pending(page) -> str:
    return page.locator("#net-status").get_attribute("data-pending")


def test_a_report_made_offline_arrives_exactly_once_and_warns_the_next_worker(
    server, browser, api, admin_api, provider, field_database_url
):
    service = provider["services"][0]
    site = _site(api, service["service_id"])
    assert _reports(field_database_url, service["service_id"]) == []
    context = phone_context(browser, geolocation=TORONTO, viewport=TALL_PHONE, locale="fr-CA", color_scheme="dark")
    try:
        page = open_app(context, server, token_for(Role.FIELD_WORKER, "demo", "outreach-3"))
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=WAIT_MS)
        _show(page, site)
        context.set_offline(True)
        page.wait_for_function("() => document.querySelector('#net-status').dataset.state === 'offline'")

        tap(page, "#detail-report")
        page.wait_for_selector("#report:not([hidden])")
        form = page.locator("#report-form")
        kinds = form.locator(".report-kind")
        assert kinds.count() == 8
        assert [kinds.nth(i).text_content() for i in range(8)] == [
            "Fermé définitivement",
            "Fermé aujourd’hui",
            "Complet",
            "Mauvais numéro de téléphone",
            "Mauvaise adresse",
            "Mauvaises heures",
            "A déménagé",
            "Autre chose",
        ]
        for i in range(8):
            assert kinds.nth(i).bounding_box()["height"] >= 44
        assert form.locator("legend").first.text_content() == "Qu’est-ce qui ne va pas?"
        assert page.locator("#report-privacy").text_content() == (
            "Aucun nom ni renseignement personnel : ceci va à l’équipe des données du 211."
        )
        assert page.locator("#report-note").get_attribute("maxlength") == "500"
        assert page.locator("#report-note-count").text_content() == "0 / 500 caractères"
        assert not page.locator("#report-location").is_checked()  # off unless the worker turns it on

        # Sent without a kind: the form says what is missing, on the phone.
        tap(page, "#report-send")
        assert page.locator("#report-error-kind").text_content() == "Choisissez ce qui ne va pas."
        form.locator('.report-kind[data-kind="closed_today"]').tap()
        assert page.locator("#report-error-kind").count() == 0
        note = "Porte fermée à 2 h, affiche : dégât d’eau."
        page.locator("#report-note").fill(note)
        assert page.locator("#report-note-count").text_content() == f"{len(note)} / 500 caractères"
        page.locator("#report-note").blur()
        page.evaluate("document.querySelector('#report').scrollTop = 0")
        page.wait_for_timeout(200)
        screenshot(page, "report-form", docs=True)
        page.evaluate("document.querySelector('#report').scrollTop = 1e6")
        page.wait_for_timeout(200)
        screenshot(page, "report-form-end")

        tap(page, "#report-send")
        page.wait_for_selector("#report", state="hidden")
        assert "Signalement enregistré" in page.locator("#toast").text_content()
        page.wait_for_function("() => document.querySelector('#net-status').dataset.pending === '1'")
        page.wait_for_selector('#detail-reports .report-waiting[data-state="queued"]')
        assert "attend le réseau" in page.locator("#detail-reports").text_content()
        queued = _report_outbox(page)
        assert len(queued) == 1 and queued[0]["body"] == {"kind": "closed_today", "note": note}
        assert _reports(field_database_url, service["service_id"]) == [], "nothing reached the server offline"
        screenshot(page, "report-queued")

        # Back online. The first answer is lost on the way back: the same key goes again and
        # the server answers it from what it did the first time.
        posts: list[dict] = []

        def lose_first_answer(route):
            posts.append({"key": route.request.headers.get("idempotency-key"), "body": route.request.post_data})
            if len(posts) == 1:
                answer = route.fetch()
                posts[-1]["status"] = answer.status
                return route.abort("connectionreset")
            return route.continue_()

        page.route(f"**/v1/services/{service['service_id']}/reports", lose_first_answer)
        with page.expect_response(
            lambda r: r.url.endswith("/reports") and r.request.method == "POST", timeout=WAIT_MS
        ) as replay:
            context.set_offline(False)
        page.wait_for_function("() => document.querySelector('#net-status').dataset.pending === '0'", timeout=WAIT_MS)
        assert replay.value.status == 201 and replay.value.headers.get("idempotent-replayed") == "true"
        assert posts[0]["status"] == 201 and len(posts) == 2
        assert posts[0]["key"] == posts[1]["key"] == queued[0]["key"] and posts[0]["body"] == posts[1]["body"]
        assert _report_outbox(page) == []
        made = _reports(field_database_url, service["service_id"])
        assert [(r["kind"], r["note"], r["status"], r["located"]) for r in made] == [
            ("closed_today", note, "open", False)
        ]
        desk = admin_api.get("/v1/admin/reports", params={"service_id": service["service_id"]}).json()["contents"]
        assert [(r["kind"], r["note"], r["reporter"]["role"]) for r in desk] == [("closed_today", note, "field_worker")]
        page.wait_for_selector("#detail-reports .report-waiting", state="detached", timeout=WAIT_MS)
        page.unroute(f"**/v1/services/{service['service_id']}/reports")

        # The same again, online: this worker has an open report of that kind; "already reported".
        tap(page, "#detail-report")
        page.locator('#report-form .report-kind[data-kind="closed_today"]').tap()
        with page.expect_response(
            lambda r: r.url.endswith("/reports") and r.request.method == "POST", timeout=WAIT_MS
        ) as again:
            tap(page, "#report-send")
        assert again.value.status == 409 and again.value.json()["type"].endswith("/report-exists")
        page.wait_for_function(
            "() => /Déjà signalé/.test(document.querySelector('#toast').textContent)", timeout=WAIT_MS
        )
        assert _report_outbox(page) == [] and _pending(page) == "0"
        assert len(_reports(field_database_url, service["service_id"])) == 1

        # The next worker is warned, on the row and on the card (an icon and words).
        tap(page, "#detail-back")
        page.evaluate("fieldnavDebug.emit('category', 'shelter')")
        wait_list(page)
        fresh = _site(api, service["service_id"])
        assert [(r["kind"], r["count"]) for r in fresh["open_reports"]] == [("closed_today", 1)]
        _show(page, fresh)
        warning = page.locator("#detail-warnings li.report-warning")
        assert warning.count() == 1 and warning.get_attribute("data-kind") == "closed_today"
        assert warning.locator(".report-warning-text").text_content() == "Signalé fermé à l’instant"
        assert warning.locator("svg").count() == 1 and warning.locator(".sr-only").text_content() == "Avertissement : "
        page.wait_for_timeout(200)
        screenshot(page, "detail-warning")
        # On its row in the list, one line: the newest kind.
        tap(page, "#detail-back")
        page.evaluate(
            "(site) => { fieldnavDebug.state.origin = {lat: site.lat, lon: site.lon, source: 'map'}; "
            "fieldnavDebug.emit('filters', fieldnavDebug.state.filters); }",
            fresh,
        )
        wait_list(page)
        row = _row(page, service["service_id"])
        assert row.get_attribute("data-reported") == "closed_today"
        assert row.locator(".report-warning").text_content() == "Avertissement : Signalé fermé à l’instant"
    finally:
        context.close()


def test_a_report_the_server_refuses_comes_back_whole_with_its_message_by_the_field(server, browser, api, provider):
    service = provider["services"][-1]
    site = _site(api, service["service_id"])
    context = phone_context(browser, geolocation=TORONTO)
    try:
        page = open_app(context, server, token_for(Role.FIELD_WORKER, "demo", "medic-41"))
        _show(page, site)
        context.set_offline(True)
        tap(page, "#detail-report")
        page.locator('#report-form .report-kind[data-kind="wrong_phone"]').tap()
        page.locator("#report-note").fill("The number rings out.")
        tap(page, "#report-send")
        page.wait_for_function("() => document.querySelector('#net-status').dataset.pending === '1'")
        # What an older client (or a note the phone let through) would have queued: too long.
        page.evaluate("""async () => {
            const db = await new Promise((ok) => { const r = indexedDB.open('fieldnav'); r.onsuccess = () => ok(r.result); });
            await new Promise((ok, no) => {
                const tx = db.transaction('reports', 'readwrite'), store = tx.objectStore('reports');
                const q = store.getAll();
                q.onsuccess = () => { for (const item of q.result) { item.body.note = 'x'.repeat(600); item.form.note = item.body.note; store.put(item); } };
                tx.oncomplete = ok; tx.onerror = () => no(tx.error);
            });
            db.close();
        }""")
        with page.expect_response(
            lambda r: r.url.endswith("/reports") and r.request.method == "POST", timeout=WAIT_MS
        ) as refused:
            context.set_offline(False)
        assert refused.value.status == 422
        message = next(e["message"] for e in refused.value.json()["errors"] if e["field"] == "body.note")
        # Refused, it no longer counts as waiting; the card says so, with Correct and Discard.
        page.wait_for_function("() => document.querySelector('#net-status').dataset.pending === '0'", timeout=WAIT_MS)
        page.wait_for_selector('#detail-reports .report-waiting[data-state="rejected"]', timeout=WAIT_MS)
        page.locator('#detail-reports .report-waiting[data-state="rejected"] .btn-primary').tap()
        page.wait_for_selector("#report:not([hidden]) #report-error-note")
        assert page.locator("#report-error-note").text_content() == message
        assert page.locator('#report-form input[value="wrong_phone"]').is_checked()
        assert page.locator("#report-note").input_value() == "x" * 600
        assert page.locator("#report-note").get_attribute("aria-invalid") == "true"
        assert _report_outbox(page) == []
        # Corrected and sent again: taken.
        page.locator("#report-note").fill("The number rings out.")
        with page.expect_response(
            lambda r: r.url.endswith("/reports") and r.request.method == "POST", timeout=WAIT_MS
        ) as taken:
            tap(page, "#report-send")
        assert taken.value.status == 201
        page.wait_for_function("() => /Thank you/.test(document.querySelector('#toast').textContent)", timeout=WAIT_MS)
    finally:
        context.close()


# --- how it looks at night ---------------------------------------------------------------------------


def test_the_provider_view_at_night_offline_in_french(server, browser, provider, api, admin_api):
    """What the night staff see: their services, each count with its age (an old one flagged),
    the field's reports on them, and, offline, the list as last loaded and what a Save needs."""
    services = provider["services"]
    # A second unit whose count is 13 h old (the provider is told to update it), and one field
    # report of "full".
    stale_target = services[0]
    _put_count(admin_api, stale_target["service_id"], 7, age=timedelta(0), maximum=83)
    _put_count(admin_api, stale_target["service_id"], 5, age=timedelta(hours=13), unit="meals", maximum=60)
    reporter = token_for(Role.FIELD_WORKER, "demo", "outreach-12")
    made = api.post(
        f"/v1/services/{services[0]['service_id']}/reports",
        json={"kind": "full"},
        headers={"Authorization": f"Bearer {reporter}", "Idempotency-Key": "night-report-1"},
    )
    assert made.status_code in (201, 409), made.text
    context = phone_context(browser, geolocation=TORONTO, viewport=TALL_PHONE, locale="fr-CA", color_scheme="dark")
    try:
        page = open_provider(context, server, provider["token"])
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=WAIT_MS)
        card = page.locator(f'#provider-list [data-service-id="{services[0]["service_id"]}"]')
        assert card.locator(".provider-reports li.report-warning").first.get_attribute("data-kind") == "full"
        assert card.locator(".provider-reports").text_content().startswith("Signalé par les intervenants")
        assert "Signalé complet à l’instant" in card.locator(".provider-reports").text_content()
        old = page.locator(
            f'#provider-list [data-service-id="{stale_target["service_id"]}"] .count-row[data-unit="meals"]'
        )
        assert old.locator(".capacity").get_attribute("data-stale") == "true"
        assert "il y a 13 h" in old.locator(".capacity").text_content()
        assert "Compte ancien" in old.locator(".stale-hint").text_content()

        # No network at the front desk: the list as last loaded, dated; a Save says what it needs.
        context.set_offline(True)
        page.reload()
        page.wait_for_selector("#provider:not([hidden])", timeout=WAIT_MS)
        wait_provider(page)
        assert page.locator("#provider-list").get_attribute("data-source") == "phone"
        assert page.locator("#provider-note").text_content().startswith("Hors ligne : comptes chargés le")
        card = page.locator(f'#provider-list [data-service-id="{stale_target["service_id"]}"]')
        card.locator('.count-row[data-unit="meals"] .step-plus').tap()
        card.locator(".provider-save").tap()
        page.wait_for_function(
            "(id) => document.querySelector(`[data-service-id='${id}']`).dataset.status === 'offline'",
            arg=stale_target["service_id"],
            timeout=WAIT_MS,
        )
        assert card.locator(".provider-status").text_content().startswith("Pas de réseau")
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        page.evaluate("document.querySelector('#provider').scrollTop = 0")
        page.wait_for_timeout(200)
        screenshot(page, "provider-night-fr", docs=True)
        card.locator(".provider-status").scroll_into_view_if_needed()
        page.wait_for_timeout(200)
        screenshot(page, "provider-night-fr-save")
    finally:
        context.close()


# --- the phone's storage ------------------------------------------------------------------------------

_OLD_CLIENT_DB = """async ([token, item]) => {
    // What the previous build left on a phone: IndexedDB version 2 (no reports store), a
    // token, and a handoff waiting in the outbox.
    const db = await new Promise((ok, no) => {
        const r = indexedDB.open('fieldnav', 2);
        r.onupgradeneeded = () => {
            const d = r.result;
            d.createObjectStore('meta');
            const sites = d.createObjectStore('sites', {keyPath: 'key'});
            sites.createIndex('service_id', 'service_id');
            sites.createIndex('site_key', 'site_key');
            d.createObjectStore('packs', {keyPath: 'id'});
            d.createObjectStore('outbox', {keyPath: 'key'});
            d.createObjectStore('handoffs', {keyPath: 'id'});
        };
        r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error);
    });
    await new Promise((ok, no) => {
        const tx = db.transaction(['meta', 'outbox'], 'readwrite');
        tx.objectStore('meta').put(token, 'token');
        tx.objectStore('outbox').put(item);
        tx.oncomplete = ok; tx.onerror = () => no(tx.error);
    });
    db.close();
}"""


def test_a_phone_with_the_previous_storage_upgrades_and_keeps_its_outbox(server, browser, field_database_url):
    context = phone_context(browser, geolocation=TORONTO)
    try:
        page = context.new_page()
        page.goto(f"{server.base_url}/healthz")  # the app's origin, before the app opens its storage
        item = {
            "key": "7d0f3a52-8a52-4b8e-9a3c-1f1b8b0c2e11",
            "createdAt": 1,
            "state": "queued",
            "tries": 0,
            "error": None,
            "subject": "medic-77",
            "label": "",
            "form": {"needs": ["shelter"]},
            "body": {
                "needs": {"groups": ["shelter"]},
                "urgency": "routine",
                "language": "en",
                "interpreter_needed": False,
                "suggested_services": [],
            },
        }
        page.evaluate(_OLD_CLIENT_DB, [token_for(Role.FIELD_WORKER, "demo", "medic-77"), item])
        engine = create_engine(field_database_url)
        try:
            with engine.connect() as connection:
                before = connection.execute(text("SELECT count(*) FROM handoff")).scalar_one()
            page.goto(f"{server.base_url}/app/")
            page.wait_for_selector("#app:not([hidden])", timeout=WAIT_MS)
            page.wait_for_function(
                "() => document.querySelector('#net-status').dataset.pending === '0'", timeout=WAIT_MS
            )
            stores = page.evaluate("""async () => {
                const db = await new Promise((ok) => { const r = indexedDB.open('fieldnav'); r.onsuccess = () => ok(r.result); });
                const names = [...db.objectStoreNames], version = db.version;
                db.close();
                return {names, version};
            }""")
            assert stores["version"] == 4
            assert set(stores["names"]) == {"meta", "sites", "packs", "outbox", "handoffs", "reports", "shares"}
            with engine.connect() as connection:
                assert connection.execute(text("SELECT count(*) FROM handoff")).scalar_one() == before + 1
        finally:
            engine.dispose()
    finally:
        context.close()
