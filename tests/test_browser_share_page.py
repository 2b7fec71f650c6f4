"""The share page as the person gets it (issue 20), in Debian's Chromium: on an old phone's
screen (360 px, English and French, light and dark) it fits the width, loads nothing but
itself and its phone numbers are links; printed (Chromium's print to PDF, A4 and Letter) a
list of ten services with the longest texts in the directory is one page, with the QR code.

Screenshots (tests/artifacts/browser): share-page-en, share-page-fr-dark, share-page-print.
"""

from __future__ import annotations

import io
import uuid
from urllib.parse import urlsplit

import pytest
from pypdf import PdfReader
from sqlalchemy import create_engine, text

from service.auth.principal import Role
from tests.browser import phone_context, screenshot
from tests.browser.app import token_for


@pytest.fixture(scope="module")
def longest_sites(field_database_url) -> list[int]:
    """The ten public sites whose cards have the most to print, plus a confidential one: the
    worst case for one page."""
    engine = create_engine(field_database_url)
    try:
        with engine.connect() as connection:
            public = (
                connection.execute(
                    text("""
                SELECT site_key FROM service_site WHERE NOT is_private
                ORDER BY length(card->>'name') + length(coalesce(card->>'organization_name', ''))
                       + length(coalesce(card->'address'->>'address_1', '')) + 20 * jsonb_array_length(card->'phones')
                       DESC, site_key
                LIMIT 9
            """)
                )
                .scalars()
                .all()
            )
            private = connection.execute(
                text("SELECT site_key FROM service_site WHERE is_private ORDER BY site_key LIMIT 1")
            ).scalar_one()
    finally:
        engine.dispose()
    return [*public, private]


def _share(server, site_keys: list[int], language: str) -> dict:
    import httpx

    token = token_for(Role.FIELD_WORKER, "demo", f"paramedic-{uuid.uuid4().hex[:6]}")
    answer = httpx.post(
        f"{server.base_url}/v1/shares",
        json={"services": [{"site_key": key} for key in site_keys], "language": language, "delivery": "print"},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def _open(context, url: str):
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    response = page.goto(url)
    assert response is not None and response.status == 200
    page.wait_for_load_state("load")
    return page, requests


@pytest.mark.parametrize(("language", "scheme"), [("en", "light"), ("fr", "dark")])
def test_the_page_on_an_old_phone(server, browser, longest_sites, language, scheme):
    shared = _share(server, longest_sites, language)
    context = phone_context(browser, locale="fr-CA" if language == "fr" else "en-CA", color_scheme=scheme)
    try:
        page, requests = _open(context, shared["url"])
        # One request: the page itself. No font, script, style, image or tracker from anywhere.
        assert requests == [shared["url"]]
        assert {urlsplit(url).netloc for url in requests} == {urlsplit(server.base_url).netloc}
        # Fits a 360 px screen: nothing scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        assert page.locator("ol > li").count() == len(longest_sites)
        assert page.locator('a[href^="tel:"]').count() >= len(longest_sites) - 1
        assert page.locator('a[href="tel:211"]').count() == 1
        # Readable: body text at least 16 px on the screen.
        assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 16
        words = (
            ("Services pour vous", "Appeler le 2-1-1", "Adresse confidentielle")
            if language == "fr"
            else (
                "Services for you",
                "Call 2-1-1",
                "Address kept confidential",
            )
        )
        body = page.inner_text("body")
        for word in words:
            assert word in body, word
        if scheme == "dark":
            assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(17, 17, 17)"
        assert not page.locator(".qr").is_visible()  # the QR code is for paper
        screenshot(page, f"share-page-{language}" + ("-dark" if scheme == "dark" else ""))
    finally:
        context.close()


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_ten_services_print_on_one_page(server, browser, longest_sites, paper):
    shared = _share(server, longest_sites, "fr")  # French is the longer language
    context = browser.new_context(viewport={"width": 800, "height": 1000})
    try:
        page, _ = _open(context, shared["url"])
        page.emulate_media(media="print")
        assert page.locator(".qr svg").is_visible()
        assert not page.locator("#p").is_visible()  # the print button is not printed
        pdf = page.pdf(format=paper, print_background=False, prefer_css_page_size=True)
        assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
        if paper == "Letter":
            page.set_viewport_size({"width": 816, "height": 1056})  # Letter at 96 dpi
            screenshot(page, "share-page-print")
    finally:
        context.close()


def test_the_print_link_opens_the_print_dialog(server, browser, longest_sites):
    shared = _share(server, longest_sites[:2], "en")
    context = browser.new_context()
    # The phone's print dialog is the operating system's: counted, not opened.
    context.add_init_script("window.__printed = 0; window.print = () => { window.__printed += 1; };")
    try:
        page, _ = _open(context, shared["print_url"])
        page.wait_for_function("window.__printed === 1")
        plain, _ = _open(context, shared["url"])
        assert plain.evaluate("window.__printed") == 0  # only the print link opens it at once
        plain.click("#p")
        assert plain.evaluate("window.__printed") == 1  # and the button
    finally:
        context.close()
