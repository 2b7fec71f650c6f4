"""Who the person is, as a worker sets it on a phone (Debian's Chromium, 360x640): the "Who"
chip opens a sheet (a gender, and groups: youth, families, pets...); the list keeps the
services for them and those that state no restriction, online (population=, gender=) and
offline from the saved area (web/src/offline.js), as the server's rule says
(service/directory/populations.py).

Screenshots (tests/artifacts/browser): population-sheet-fr-dark, population-list-fr-dark.
"""

from __future__ import annotations

from tests.browser import phone_context, screenshot
from tests.browser.app import (
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

GENDER_GROUPS = {"woman": "women", "man": "men", "gender_diverse": "gender_diverse"}


def _for_person(site: dict, population: list[str], gender: str | None) -> bool:
    """The rule, as the API documents it: population= keeps sites for one of the groups or
    restricting nobody; gender= keeps sites with no gender group or with that gender's."""
    groups = set(site["populations"])
    if population and site["population_restricted"] and not groups & set(population):
        return False
    gender_group = GENDER_GROUPS.get(gender or "")
    return not (gender_group and groups & set(GENDER_GROUPS.values()) and gender_group not in groups)


def _choose(page, gender: str | None, groups: list[str]):
    """Open the Who sheet, pick a gender and groups, apply."""
    tap(page, '#filters [data-filter="who"]')
    page.wait_for_selector("#who-panel")
    page.locator(f'#who-panel input[name="who-gender"][value="{gender or ""}"]').check()
    for box in page.locator('#who-panel input[name="who-group"]').all():
        box.set_checked(box.get_attribute("value") in groups)
    tap(page, "#who-apply")
    page.wait_for_selector("#who-panel", state="detached")


def test_the_who_filter_online_and_offline(server, phone, worker_token, api):
    page = open_app(phone, server, worker_token)
    manifest = save_default_area(page)
    snapshot = api.get(manifest["urls"]["services"]).json()["services"]
    assert all("populations" in site and "population_restricted" in site for site in snapshot)

    tap(page, '.tabbar [data-tab="nearby"]')
    tap(page, '#chips .chip[data-code="shelter"]')
    wait_list(page, "Shelter")
    everyone = shown_sites(page)

    # A man: the women's shelters go, the men's and the unrestricted stay.
    _choose(page, "man", [])
    page.wait_for_function(
        "() => document.querySelector('#filters [data-filter=who]').textContent === 'Who (1)'", timeout=WAIT_MS
    )
    wait_list(page, "Shelter")
    expected = nearest(api, TORONTO["latitude"], TORONTO["longitude"], category="shelter", gender="man")
    assert shown_sites(page) == ids(expected)
    assert shown_sites(page) != everyone, "the demo data has women's shelters near Toronto"
    assert not any("women" in r["populations"] for r in expected)
    unrestricted = page.locator('#nearest-list li.result[data-restricted="false"] .result-populations')
    assert unrestricted.count() > 0
    assert all("No stated restriction" in text for text in unrestricted.all_text_contents())

    # A young woman with a dog: youth, women's, pet-friendly and unrestricted shelters.
    _choose(page, "woman", ["youth", "pets"])
    wait_list(page, "Shelter")
    expected = nearest(
        api,
        TORONTO["latitude"],
        TORONTO["longitude"],
        category="shelter",
        population="youth,pets,women",
        gender="woman",
    )
    assert shown_sites(page) == ids(expected)
    assert any("women" in r["populations"] for r in expected) and not any("men" in r["populations"] for r in expected)

    # Offline: the phone applies the same rule to the saved area.
    phone.set_offline(True)
    tap(page, '#chips .chip[data-code="food"]')
    tap(page, '#chips .chip[data-code="shelter"]')
    page.wait_for_function("() => document.querySelector('#nearest').dataset.source === 'phone'", timeout=WAIT_MS)
    wait_list(page)
    shown = shown_sites(page)
    matching = [
        s for s in snapshot if "shelter" in s["category_groups"] and _for_person(s, ["youth", "pets", "women"], "woman")
    ]
    placed = sorted(
        (s for s in matching if s["lat"] is not None),
        key=lambda s: haversine_m(TORONTO["latitude"], TORONTO["longitude"], s["lat"], s["lon"]),
    )[:10]
    # Then up to three confidential sites ("call to connect": no position on the phone).
    private = ids(s for s in matching if s["confidential"])
    assert shown[: len(placed)] == ids(placed)
    assert set(shown[len(placed) :]) <= set(private) and len(shown) - len(placed) == min(3, len(private))
    by_id = {(s["service_id"], s["location_id"]): s for s in snapshot}
    assert all(_for_person(by_id[key], ["youth", "pets", "women"], "woman") for key in shown)

    # A man, offline: the list changes, and no women-only shelter is left.
    _choose(page, "man", [])
    wait_list(page)
    shown_man = shown_sites(page)
    assert shown_man != shown
    assert all(_for_person(by_id[key], [], "man") for key in shown_man)
    assert not any("women" in by_id[key]["populations"] for key in shown_man)


def test_the_who_sheet_in_french_at_night(server, browser, worker_token, api):
    context = phone_context(browser, geolocation=TORONTO, locale="fr-CA", color_scheme="dark")
    try:
        page = open_app(context, server, worker_token)
        if page.evaluate("() => document.documentElement.lang") != "fr":
            tap(page, "#lang-toggle")
            page.wait_for_function("() => document.documentElement.lang === 'fr'")
        tap(page, '#chips .chip[data-code="shelter"]')
        wait_list(page)
        tap(page, '#filters [data-filter="who"]')
        page.wait_for_selector("#who-panel")
        page.locator('#who-panel input[name="who-gender"][value="woman"]').check()
        page.locator('#who-panel input[name="who-group"][value="families"]').check()
        sheet = page.locator("#who-panel").text_content() or ""
        for words in ("Genre", "Femme", "Homme", "Diversité de genre", "Familles", "Personnes avec animaux", "Jeunes"):
            assert words in sheet, words
        screenshot(page, "population-sheet-fr-dark")

        tap(page, "#who-apply")
        page.wait_for_function(
            "() => document.querySelector('#filters [data-filter=who]').textContent === 'Pour qui (2)'",
            timeout=WAIT_MS,
        )
        wait_list(page)
        expected = nearest(
            api,
            TORONTO["latitude"],
            TORONTO["longitude"],
            category="shelter",
            population="families,women",
            gender="woman",
        )
        assert shown_sites(page) == ids(expected)
        labels = page.locator("#nearest-list .result-populations").all_text_contents()
        assert any("Femmes" in label for label in labels) or any("Aucune restriction" in label for label in labels)
        page.locator("#nearest-list li.result").nth(2).scroll_into_view_if_needed()
        screenshot(page, "population-list-fr-dark")
    finally:
        context.close()
