"""Share (issue 20) in the field client, on a phone (Debian's Chromium, 360x740): the worker
chooses services on the nearest list (a selection mode with checkboxes) or on a service's card
(its own service chosen), then how the person gets them:

- online, a QR code on the worker's screen (POST /v1/shares, delivery "link": the server's
  SVG, the link under it), the server's page to print (delivery "print": opened in a new
  window), an email or a text message (a number the server cannot text comes back as the
  server's message by the field, the form whole);
- offline, "Share…" hands the phone's share sheet a text built from the saved area's snapshot
  (names, phones, today's hours, the 211 line; a confidential site's place never), print and
  QR are disabled with the way round said, and a text message is queued in the shares'
  outbox: when the signal returns it reaches the server exactly once (the same
  Idempotency-Key when an answer is lost) and `fieldnav worker --once`, run twice, texts it
  once, with the share's link;
- with no share sheet (Chromium on Linux has none), the text with the share's link is copied
  and the worker told so;
- in French, dark: the dialog's words, the server's message and the 211 line in French;
- providers and admins never see Share.

Screenshots (tests/artifacts/browser): share-pick, share-qr, share-sms-refused, share-fr-dark,
share-qr-fr-dark, share-offline-fr-dark, share-text-offline, share-queued-offline.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import httpx
from sqlalchemy import create_engine, text

from service.auth.principal import Role
from tests.browser import axe_findings, describe_findings, phone_context, screenshot, serious_findings
from tests.browser.app import (
    TORONTO,
    WAIT_MS,
    open_app,
    save_default_area,
    stored,
    tap,
    token_for,
    wait_list,
)
from tests.support import PROJECT_ROOT
from tests.support.databases import app_url_for

PHONE_740 = {"width": 360, "height": 740}
LINE_211 = {
    "en": "211: call or text 2-1-1, 24/7, free and confidential",
    "fr": "211 : appelez ou textez le 2-1-1, 24 h sur 24, gratuit et confidentiel",
}
# The phone's share sheet belongs to its operating system, outside the app and outside what
# a test can drive: this stub stands in for it and records what the app hands it.
SHARE_SHEET_STUB = """
    window.__shared = [];
    Object.defineProperty(navigator, 'share', {
        configurable: true,
        value: async (data) => { window.__shared.push(JSON.parse(JSON.stringify(data))); },
    });
"""


# --- helpers ---------------------------------------------------------------------------------------


def _phone(browser, **extra):
    return phone_context(browser, geolocation=TORONTO, viewport=PHONE_740, **extra)


def _choose_on_list(page, count: int, *, rows: list[int] | None = None) -> list[str]:
    """Selection mode on the nearest list: tick ``rows`` (or the first ``count``), then Share.
    Returns the chosen services' names."""
    tap(page, "#share-select")
    page.wait_for_selector("#share-bar:not([hidden])")
    names = []
    for index in rows if rows is not None else range(count):
        row = page.locator("#nearest-list li.result").nth(index)
        # A tap on the row ticks its box (the card opens only outside selection mode).
        row.locator(".result-main").tap()
        assert row.locator(".pick-box").is_checked()
        names.append(row.locator(".result-name").inner_text())
    tap(page, "#share-chosen")
    page.wait_for_selector("#share:not([hidden]) #share-form")
    return names


def _dialog_names(page) -> list[str]:
    return page.locator("#share-services .share-name").all_inner_texts()


def _how(page, delivery: str):
    page.locator(f'#share-form input[name="share-delivery"][value="{delivery}"]').check()


def _shares_posted(page, action) -> tuple[dict, dict[str, str], dict]:
    """Run ``action`` and return the POST /v1/shares it made: (body, headers, answer)."""
    with page.expect_response(
        lambda r: r.url.endswith("/v1/shares") and r.request.method == "POST", timeout=WAIT_MS
    ) as posted:
        action()
    response = posted.value
    return json.loads(response.request.post_data or "{}"), response.request.headers, response.json()


def _wait_pending(page, n: int, timeout: int = WAIT_MS):
    page.wait_for_function(
        "(n) => document.querySelector('#net-status').dataset.pending === String(n)", arg=n, timeout=timeout
    )


def _confidential_place(database_url: str, location_id: str) -> dict:
    """Where a confidential site really is: what the text must never say."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT l.latitude, l.longitude, l.address_private, a.address_1, a.postal_code "
                    "FROM location l LEFT JOIN address a ON a.location_id = l.id WHERE CAST(l.id AS text) = :id"
                ),
                {"id": location_id},
            ).first()
    finally:
        engine.dispose()
    assert row is not None and row.address_private
    return dict(row._mapping)


def _run_worker_once(database_url: str, messaging_env: dict[str, str]) -> None:
    """`fieldnav worker --once` as the application role, sending through ``messaging_env``'s
    SMS provider and mail server."""
    environment = {**os.environ, "FIELDNAV_DATABASE_URL": app_url_for(database_url), **messaging_env}
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "worker", "--once"],
        env=environment,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def _to_french(page):
    if page.evaluate("() => document.documentElement.lang") != "fr":
        tap(page, "#lang-toggle")
        page.wait_for_function("() => document.documentElement.lang === 'fr'")
        wait_list(page)


# --- online ----------------------------------------------------------------------------------------


def test_online_a_qr_code_a_page_to_print_and_messages_with_the_servers_word_by_the_field(
    share_server, browser, worker_token
):
    context = _phone(browser)
    try:
        page = open_app(context, share_server, worker_token)
        results = page.evaluate("() => fieldnavDebug.state.results.map((r) => ({site_key: r.site_key, name: r.name}))")
        assert len(results) >= 3

        # (a) Three services chosen on the list, shown as a QR code on the worker's screen.
        tap(page, "#share-select")
        page.wait_for_selector("#share-bar:not([hidden])")
        assert page.locator("#nearest-list .pick-box").count() == len(results)
        assert page.locator("#share-chosen").is_disabled()
        for index in range(3):
            page.locator("#nearest-list li.result").nth(index).locator(".result-main").tap()
        assert page.locator("#share-count").inner_text() == "3 of 10 chosen"
        assert page.locator("#detail").is_hidden()  # a tap ticks, it does not open the card
        screenshot(page, "share-pick")
        tap(page, "#share-chosen")
        page.wait_for_selector("#share:not([hidden]) #share-form")
        assert _dialog_names(page) == [r["name"] for r in results[:3]]
        _how(page, "qr")
        assert page.locator("#share-send").inner_text() == "Show the QR code"
        body, headers, answer = _shares_posted(page, lambda: tap(page, "#share-send"))
        assert body == {
            "services": [{"site_key": r["site_key"]} for r in results[:3]],
            "language": "en",
            "delivery": "link",
        }
        qr_key = headers["idempotency-key"]
        assert re.fullmatch(r"[0-9a-f-]{36}", qr_key)
        page.wait_for_function(
            "() => { const img = document.querySelector('#share-qr-image'); return img && img.complete && img.naturalWidth > 0; }",
            timeout=WAIT_MS,
        )
        assert page.locator("#share-link").inner_text() == answer["url"]
        assert "/s/" in answer["url"] and answer["qr_url"].endswith("/qr.svg")
        image = page.locator("#share-qr-image").bounding_box()
        assert image is not None and image["width"] >= 260  # large: scanned from the worker's screen
        screenshot(page, "share-qr")
        tap(page, "#share-done")
        page.wait_for_selector("#share", state="hidden")
        page.wait_for_selector("#share-bar", state="hidden")
        assert page.locator("#nearest-list .pick-box").count() == 0  # selection mode ended

        # (b) From a service's card: that service chosen; its page to print opens in a new window.
        page.locator("#nearest-list li.result .result-main").first.tap()
        page.wait_for_selector("#detail:not([hidden]) #detail-share")
        tap(page, "#detail-share")
        page.wait_for_selector("#share:not([hidden]) #share-form")
        assert _dialog_names(page) == [results[0]["name"]]
        _how(page, "print")
        with context.expect_page(timeout=WAIT_MS) as opened:
            body, headers, answer = _shares_posted(page, lambda: tap(page, "#share-send"))
        assert body == {"services": [{"site_key": results[0]["site_key"]}], "language": "en", "delivery": "print"}
        assert headers["idempotency-key"] != qr_key  # a fresh key per tap
        printed = opened.value
        printed.wait_for_url(answer["print_url"], timeout=WAIT_MS)
        printed.wait_for_load_state()
        assert results[0]["name"] in printed.content()
        printed.close()
        page.wait_for_selector("#share-outcome[data-kind='opened']")
        tap(page, "#share-done")

        # (c) A text message to a number the server cannot text: its word, by the field; the
        # form whole; nothing left waiting.
        tap(page, "#detail-share")
        _how(page, "sms")
        recipient = page.locator("#share-recipient")
        assert recipient.get_attribute("type") == "tel" and recipient.get_attribute("autocomplete") == "off"
        recipient.fill("12")
        tap(page, "#share-send")  # no consent ticked: asked on the phone, nothing sent
        page.wait_for_selector("#share-error-consent")
        page.locator("#share-consent").check()
        body, headers, answer = _shares_posted(page, lambda: tap(page, "#share-send"))
        assert body["delivery"] == "sms" and body["recipient"] == "12"
        assert answer["status"] == 422
        server_says = " ".join(e["message"] for e in answer["errors"] if e["field"].startswith("body.recipient"))
        assert server_says
        error = page.locator("#share-error-recipient")
        error.wait_for(timeout=WAIT_MS)
        assert error.inner_text() == server_says
        assert page.locator("#share-recipient").input_value() == "12"
        assert page.locator("#share-recipient").get_attribute("aria-invalid") == "true"
        assert page.locator("#share-consent").is_checked()
        assert stored(page, "shares") == []
        screenshot(page, "share-sms-refused")

        # (d) An email, sent at once: the server queued it; the address is gone from the phone.
        _how(page, "email")
        assert page.locator("#share-recipient").get_attribute("type") == "email"
        page.locator("#share-recipient").fill("person@example.org")
        page.locator("#share-consent").check()
        body, headers, answer = _shares_posted(page, lambda: tap(page, "#share-send"))
        assert body["recipient"] == "person@example.org" and body["delivery"] == "email"
        assert answer.get("delivery_state") == "queued", answer
        page.wait_for_selector("#share-outcome[data-kind='sent']")
        assert "Sent to the 211 system" in page.locator("#share-outcome-text").inner_text()
        assert stored(page, "shares") == []
        _wait_pending(page, 0)

        # (e) From the card, more services from the list: the card's own one ticked already;
        # Back returns to the list with the choice kept, Cancel ends it.
        tap(page, "#share-done")
        tap(page, "#detail-share")
        tap(page, "#share-more")
        page.wait_for_selector("#share-bar:not([hidden])")
        assert page.locator("#detail").is_hidden()
        assert page.locator("#share-count").inner_text() == "1 of 10 chosen"
        assert page.locator("#nearest-list li.result").nth(0).locator(".pick-box").is_checked()
        page.locator("#nearest-list li.result").nth(1).locator(".result-main").tap()
        assert page.locator("#share-count").inner_text() == "2 of 10 chosen"
        tap(page, "#share-chosen")
        assert _dialog_names(page) == [r["name"] for r in results[:2]]
        tap(page, "#share-back")
        page.wait_for_selector("#share", state="hidden")
        assert page.locator("#share-count").inner_text() == "2 of 10 chosen"
        tap(page, "#share-cancel-select")
        page.wait_for_selector("#share-bar", state="hidden")
        assert page.locator("#nearest-list .pick-box").count() == 0
    finally:
        context.close()


# --- offline ---------------------------------------------------------------------------------------


def test_offline_share_hands_the_phone_a_text_from_the_saved_area_and_never_a_confidential_place(
    share_server, browser, worker_token, field_database_url
):
    context = _phone(browser)
    context.add_init_script(SHARE_SHEET_STUB)
    try:
        page = open_app(context, share_server, worker_token)
        manifest = save_default_area(page)
        tap(page, '.tabbar [data-tab="nearby"]')
        context.set_offline(True)
        page.wait_for_function("() => document.querySelector('#net-status').dataset.state === 'offline'")
        tap(page, '#chips .chip[data-code="shelter"]')
        page.wait_for_function("() => document.querySelector('#nearest').dataset.source === 'phone'", timeout=WAIT_MS)
        wait_list(page)
        rows = page.eval_on_selector_all(
            "#nearest-list li.result", "els => els.map((e) => [e.dataset.locationId, e.dataset.distance])"
        )
        placed = [i for i, (_, distance) in enumerate(rows) if distance != ""]
        hidden = [i for i, (_, distance) in enumerate(rows) if distance == ""]
        assert len(placed) >= 2 and hidden, "the saved area holds shelters with an address and a confidential one"
        names = _choose_on_list(page, 3, rows=[placed[0], placed[1], hidden[0]])

        # Print and QR need the server: disabled, the way round said.
        for delivery in ("print", "qr"):
            assert page.locator(f'#share-form input[value="{delivery}"]').is_disabled()
        assert "use Share… for a text version" in page.locator("#share-needs-signal").inner_text()
        _how(page, "native")
        tap(page, "#share-send")
        page.wait_for_selector("#share-outcome[data-kind='shared']")
        shared = page.evaluate("() => window.__shared")
        assert len(shared) == 1 and shared[0]["title"] == "Services chosen for you"
        message = shared[0]["text"]
        screenshot(page, "share-text-offline")

        snapshot = {s["location_id"]: s for s in stored(page, "sites")}
        chosen = [snapshot[rows[i][0]] for i in (placed[0], placed[1], hidden[0])]
        assert [site["name"] for site in chosen] == names
        for site in chosen:
            assert site["name"] in message
            number = next((p["number"] for p in site.get("phones") or [] if p.get("number")), None)
            if number:
                assert number in message
        for site in chosen[:2]:
            street = (site.get("address") or {}).get("address_1")
            assert not street or street in message
        assert "Address confidential — call" in message
        assert message.rstrip().endswith(LINE_211["en"])
        assert re.search(r"Today: |Closed today|Open 24/7|Hours: call to check", message)
        # The confidential shelter: no street, no postal code, no coordinates.
        place = _confidential_place(field_database_url, chosen[2]["location_id"])
        for secret in (place["address_1"], place["postal_code"]):
            assert not secret or secret not in message
        assert f"{float(place['latitude']):.3f}" not in message and f"{float(place['longitude']):.3f}" not in message
        assert manifest["id"]
    finally:
        context.close()


def test_a_text_message_queued_offline_goes_out_exactly_once_when_the_signal_returns(
    share_server, browser, worker_token, field_database_url, sms_receiver, smtp_server, share_keys
):
    number = "+1 416 555 0123"
    context = _phone(browser)
    try:
        page = open_app(context, share_server, worker_token)
        names = _choose_on_list(page, 2)
        context.set_offline(True)
        page.wait_for_function("() => document.querySelector('#net-status').dataset.state === 'offline'")
        _how(page, "sms")
        page.locator("#share-recipient").fill(number)
        page.locator("#share-consent").check()
        tap(page, "#share-send")
        page.wait_for_selector("#share-outcome[data-kind='queued']")
        assert "will be sent when the signal returns" in page.locator("#share-outcome-text").inner_text()
        waiting = page.locator("#share-waiting .share-waiting")
        waiting.wait_for()
        assert waiting.first.inner_text().startswith("Text message to •••0123 · 2 service(s)")
        _wait_pending(page, 1)
        assert "1 to send" in page.locator("#net-status").inner_text()
        queued = stored(page, "shares")
        assert len(queued) == 1 and queued[0]["body"]["recipient"] == number
        assert queued[0]["body"]["language"] == "en" and len(queued[0]["body"]["services"]) == 2
        screenshot(page, "share-queued-offline")

        # The first answer is lost on its way back: the server has the share, the phone does
        # not know; it asks again with the same key and gets the same answer.
        keys: list[str] = []

        def lose_the_first_answer(route):
            keys.append(route.request.headers["idempotency-key"])
            response = route.fetch()
            if len(keys) == 1:
                route.abort("connectionreset")
            else:
                route.fulfill(response=response)

        page.route("**/v1/shares", lose_the_first_answer)
        context.set_offline(False)
        _wait_pending(page, 0, timeout=60_000)
        assert keys == [queued[0]["key"]] * 2
        assert stored(page, "shares") == []  # the number left the phone with the item
        page.wait_for_function(
            "() => document.querySelector('#toast').textContent.includes('Sent to the 211 system')", timeout=WAIT_MS
        )
        messaging = {**sms_receiver.env, **smtp_server.env, "FIELDNAV_HANDOFF_KEYS": share_keys}
        _run_worker_once(field_database_url, messaging)
        _run_worker_once(field_database_url, messaging)
        mine = [m for m in sms_receiver.messages if re.sub(r"\D", "", m["To"]).endswith("4165550123")]
        assert len(mine) == 1, sms_receiver.messages
        assert mine[0]["From"] == sms_receiver.env["FIELDNAV_SMS_FROM"]
        link = re.search(r"https?://\S+/s/\S+", mine[0]["Body"])
        assert link, mine[0]["Body"]
        page_of_share = httpx.get(link.group(0).rstrip(".,)"), timeout=30)
        assert page_of_share.status_code == 200
        for name in names:
            assert name in page_of_share.text
    finally:
        context.close()


def test_online_without_a_share_sheet_the_text_with_the_link_is_copied_and_said_so(share_server, browser, worker_token):
    # Chromium on Linux has no navigator.share: the phone-without-a-share-sheet case as it is.
    context = _phone(browser)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    try:
        page = open_app(context, share_server, worker_token)
        assert page.evaluate("() => typeof navigator.share") == "undefined"
        names = _choose_on_list(page, 2)
        _how(page, "native")
        body, _, answer = _shares_posted(page, lambda: tap(page, "#share-send"))
        assert body["delivery"] == "link" and "recipient" not in body
        page.wait_for_selector("#share-text-view")
        assert "the text is copied" in page.locator("#share-text-view [role=status]").inner_text()
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert copied == page.locator("#share-text").input_value()
        assert all(name in copied for name in names)
        assert f"Details and map: {answer['url']}" in copied
        assert copied.rstrip().endswith(LINE_211["en"])
    finally:
        context.close()


# --- French, dark; who sees Share ------------------------------------------------------------------


def test_the_share_dialog_in_french_dark_online_and_offline(share_server, browser, worker_token):
    context = _phone(browser, locale="fr-CA", color_scheme="dark")
    context.add_init_script(SHARE_SHEET_STUB)
    try:
        page = open_app(context, share_server, worker_token)
        _to_french(page)
        site_key = page.evaluate("() => fieldnavDebug.state.results[0].site_key")
        assert page.locator("#share-select").inner_text() == "Partager"
        tap(page, "#share-select")
        assert page.locator("#share-count").inner_text() == "0 sur 10 choisis"
        tap(page, "#share-cancel-select")
        _choose_on_list(page, 2)
        assert page.locator("#share-title").inner_text() == "Partager des services avec la personne"
        assert page.locator("#share-delivery legend").inner_text() == "Comment?"
        labels = page.locator("#share-delivery .share-how-name").all_inner_texts()
        assert labels == ["Imprimer", "Code QR", "Texto (SMS)", "Courriel", "Partager…"]
        _how(page, "sms")
        assert page.locator('label[for="share-recipient"]').inner_text() == "Le numéro de cellulaire de la personne"
        assert (
            page.locator("#share-consent").locator("xpath=..").inner_text()
            == "La personne a demandé à recevoir cette liste"
        )
        assert page.locator("#share-send").inner_text() == "Envoyer le texto"
        findings = serious_findings(axe_findings(page, include="#share"))
        assert not findings, describe_findings(findings, "share dialog")
        # Every control of the dialog is a whole touch target.
        small = page.evaluate(
            """() => [...document.querySelectorAll('#share button, #share label.choice, #share label.check, #share input:not([type=radio]):not([type=checkbox])')]
                .map((el) => [el.id || el.className, el.getBoundingClientRect()])
                .filter(([, r]) => r.width && (r.height < 44 || r.width < 44)).map(([name]) => name)"""
        )
        assert not small, small
        sideways = page.evaluate(
            "() => document.querySelector('#share').scrollWidth - document.querySelector('#share').clientWidth"
        )
        assert sideways <= 1
        screenshot(page, "share-fr-dark")

        # The server's word on a bad number comes in French.
        page.locator("#share-recipient").fill("12")
        page.locator("#share-consent").check()
        tap(page, "#share-send")
        error = page.locator("#share-error-recipient")
        error.wait_for(timeout=WAIT_MS)
        english = httpx.post(
            f"{share_server.base_url}/v1/shares",
            headers={
                "Authorization": f"Bearer {worker_token}",
                "Idempotency-Key": "5b0c5f8e-7a51-4a8e-9d1c-0f7a4bd0c001",
                "Accept-Language": "en",
            },
            json={"services": [{"site_key": site_key}], "language": "fr", "delivery": "sms", "recipient": "12"},
            timeout=30,
        )
        assert english.status_code == 422
        english_words = " ".join(e["message"] for e in english.json()["errors"] if e["field"] == "body.recipient")
        assert error.inner_text() and error.inner_text() != english_words

        # A QR code, French and dark: dark on white, whatever the theme.
        _how(page, "qr")
        assert page.locator("#share-send").inner_text() == "Afficher le code QR"
        body, _, _ = _shares_posted(page, lambda: tap(page, "#share-send"))
        assert body["language"] == "fr"
        page.wait_for_function(
            "() => { const img = document.querySelector('#share-qr-image'); return img && img.complete && img.naturalWidth > 0; }",
            timeout=WAIT_MS,
        )
        assert page.locator("#share-title").inner_text() == "Balayez ce code"
        frame = page.evaluate("() => getComputedStyle(document.querySelector('.qr-frame')).backgroundColor")
        assert frame == "rgb(255, 255, 255)"
        screenshot(page, "share-qr-fr-dark")
        tap(page, "#share-done")

        # Offline: print and QR wait for a signal; Share… gives the text in French.
        context.set_offline(True)
        page.wait_for_function("() => document.querySelector('#net-status').dataset.state === 'offline'")
        _choose_on_list(page, 2)
        assert page.locator('#share-form input[value="print"]').is_disabled()
        assert page.locator('#share-form input[value="qr"]').is_disabled()
        assert page.locator("#share-needs-signal").inner_text() == (
            "Imprimer et le code QR demandent du réseau; utilisez Partager… pour une version texte."
        )
        screenshot(page, "share-offline-fr-dark")
        _how(page, "native")
        assert page.locator("#share-send").inner_text() == "Partager…"
        tap(page, "#share-send")
        page.wait_for_selector("#share-outcome[data-kind='shared']")
        shared = page.evaluate("() => window.__shared")
        assert shared[-1]["title"] == "Services choisis pour vous"
        assert shared[-1]["text"].rstrip().endswith(LINE_211["fr"])
    finally:
        context.close()


def test_admins_do_not_see_share(share_server, browser):
    context = _phone(browser)
    try:
        page = open_app(context, share_server, token_for(Role.ADMIN, "fieldnav", "admin-share"))
        assert page.locator("#share-select").is_hidden()
        page.locator("#nearest-list li.result .result-main").first.tap()
        page.wait_for_selector("#detail:not([hidden])")
        assert page.locator("#detail-share").count() == 0
    finally:
        context.close()
