"""The field client's accessibility and display, in Debian's Chromium on a phone: what a police
officer, a paramedic or an outreach worker needs at 3 a.m., outdoors, often in French.

- axe-core (WCAG 2.x A and AA, and best practices) on every screen (sign-in, the map and the
  list, the list expanded, a service, its report form, the map's legend, the 211 handoff form,
  the offline and account tabs; a provider's view of their services), in English and French,
  light, dark and outdoor (high contrast): nothing serious or critical. Every finding, minor
  ones too, is printed.
- At 320 x 640, in both languages, on every screen: no sideways scroll, nothing past the right
  edge, every tap target 44 x 44 CSS px or more, every text 14 px or more.
- The dark theme follows the phone (map included); the outdoor option is kept after a restart;
  the map's controls speak French after the switch; the legend opens, explains and closes.

Screenshots (tests/artifacts/browser): nearby-dark (also committed in docs/screenshots),
nearby-outdoor, legend, provider-320-en and -fr.
"""

from __future__ import annotations

import pytest

from tests.browser import (
    axe_findings,
    describe_findings,
    phone_context,
    screenshot,
    serious_findings,
)

# The fixtures (server, browser, worker_token...) come from the tests.browser.fixtures plugin.
from tests.browser.app import (
    TORONTO,
    WAIT_MS,
    open_app,
    open_provider,
    tap,
    wait_list,
    wait_map,
)

LOCALES = {"en": "en-CA", "fr": "fr-CA"}
SMALL_PHONE = {"width": 320, "height": 640}
# The category chips scroll sideways on purpose (the one row that does).
SIDEWAYS_SCROLLERS = ["#chips"]

# What a person can tap, and every text drawn, measured in the page.
MEASURE = """([allowed, vw]) => {
    // vw: the phone's width. (A page too wide makes a mobile browser widen its layout
    // viewport to fit, so the page's own idea of its width cannot be trusted.)
    const name = (el) => {
        let s = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + [...el.classList].map((c) => '.' + c).join('');
        for (const a of ['data-tab', 'data-code', 'href', 'type', 'value', 'aria-label'])
            if (el.hasAttribute(a)) s += `[${a}="${el.getAttribute(a).slice(0, 40)}"]`;
        let up = el.parentElement;
        while (up && !up.id) up = up.parentElement;
        return (up && up !== el ? `#${up.id} ` : '') + s;
    };
    const box = (el) => el.getBoundingClientRect();
    const shown = (el) => el.checkVisibility({visibilityProperty: true}) && box(el).width > 0 && box(el).height > 0;
    const inAllowed = (el) => allowed.some((sel) => el.closest(sel));
    const round = (n) => Math.round(n * 10) / 10;

    const pastEdge = [], sideways = [], smallTargets = [], smallText = [], cutText = [];
    for (const el of document.body.querySelectorAll('*')) {
        if (!shown(el)) continue;
        const r = box(el);
        if (r.right > vw + 1 && !inAllowed(el.parentElement || el))
            pastEdge.push(`${name(el)}: right edge at ${round(r.right)} px (viewport ${vw})`);
        const style = getComputedStyle(el);
        if (['auto', 'scroll'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1 && !allowed.some((sel) => el.matches(sel)))
            sideways.push(`${name(el)}: scrolls sideways (${el.scrollWidth} px in ${el.clientWidth} px)`);
        // Text cut short (an ellipsis, or clipped): words a person cannot read.
        const ownText = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
        if (ownText && r.width > 1) {
            const text = `"${el.textContent.trim().slice(0, 40)}"`;
            if (['hidden', 'clip'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1)
                cutText.push(`${name(el)}: text cut (${el.scrollWidth} px in ${el.clientWidth} px) ${text}`);
            for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
                if (!['hidden', 'clip'].includes(getComputedStyle(up).overflowX) || inAllowed(up)) continue;
                const u = box(up);
                if (r.right > u.right + 1 || r.left < u.left - 1)
                    cutText.push(`${name(el)}: text cut by ${name(up)} (${round(r.left)}-${round(r.right)} px in ${round(u.left)}-${round(u.right)} px) ${text}`);
                break;
            }
        }
    }
    const targets = 'a[href], button, input, select, textarea, summary, [role=button]';
    for (const el of document.body.querySelectorAll(targets)) {
        if (el.type === 'hidden') continue;
        const measured = ['radio', 'checkbox'].includes(el.type) ? (el.closest('label') || (el.id && document.querySelector(`label[for="${el.id}"]`)) || el) : el;
        if (!shown(measured)) continue;
        const r = box(measured);
        if (r.width < 44 - 0.5 || r.height < 44 - 0.5)
            smallTargets.push(`${name(measured)}: ${round(r.width)} x ${round(r.height)} px`);
    }
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const parent = node.parentElement;
        if (!node.textContent.trim() || !parent) continue;
        if (parent.closest('script, style, noscript, option, svg')) continue;
        if (!shown(parent)) continue;
        const range = document.createRange();
        range.selectNodeContents(node);
        const r = range.getBoundingClientRect();
        if (r.width <= 1 || r.height <= 1) continue; // visually hidden (screen readers only)
        // Past the edge, unless an ancestor clips it inside the screen (then it is cut text, below).
        const clipper = (() => {
            for (let up = parent; up && up !== document.body; up = up.parentElement)
                if (['hidden', 'clip'].includes(getComputedStyle(up).overflowX)) return up;
            return null;
        })();
        if (r.right > vw + 1 && !inAllowed(parent) && !(clipper && box(clipper).right <= vw + 1))
            pastEdge.push(`${name(parent)}: text runs to ${round(r.right)} px (viewport ${vw}) "${node.textContent.trim().slice(0, 40)}"`);
        if (seen.has(parent)) continue;
        seen.add(parent);
        const size = parseFloat(getComputedStyle(parent).fontSize);
        if (size < 14 - 0.01) smallText.push(`${name(parent)}: ${round(size)} px "${node.textContent.trim().slice(0, 40)}"`);
    }
    return {scrollWidth: document.documentElement.scrollWidth, viewport: vw, pastEdge, sideways, smallTargets, smallText, cutText};
}"""


def luminance(colour: str) -> float:
    """Relative luminance (WCAG) of '#rrggbb' or 'rgb(r, g, b)' / 'rgba(...)'."""
    colour = colour.strip()
    if colour.startswith("#"):
        channels = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    else:
        channels = [
            float(v) for v in colour[colour.index("(") + 1 : colour.index(")")].replace("/", ",").split(",")[:3]
        ]

    def linear(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def new_context(browser, language: str = "en", scheme: str = "light", *, outdoor: bool = False, **extra):
    context = phone_context(browser, geolocation=TORONTO, locale=LOCALES[language], color_scheme=scheme, **extra)
    if outdoor:
        context.add_init_script("localStorage.setItem('fieldnav.display', 'outdoor')")
    return context


def open_sign_in(context, server):
    page = context.new_page()
    page.goto(f"{server.base_url}/app/")
    page.wait_for_selector("#signin:not([hidden])", timeout=WAIT_MS)
    return page


def each_screen(page):
    """From Nearby, every screen of the app in turn; yields each one's name while it is shown."""
    wait_map(page)
    yield "nearby"
    tap(page, "#sheet-toggle")
    page.wait_for_selector('#nearest[data-expanded="true"]')
    yield "list expanded"
    tap(page, "#sheet-toggle")
    page.wait_for_selector('#nearest[data-expanded="false"]')
    wait_map(page)
    page.locator("#nearest-list li.result .result-main").first.tap()
    page.wait_for_selector("#detail:not([hidden])", timeout=WAIT_MS)
    yield "service detail"
    tap(page, "#detail-report")
    page.wait_for_selector("#report:not([hidden])")
    yield "report form"
    tap(page, "#report-send")  # no kind chosen: the form says so by the field
    page.wait_for_selector("#report-error-kind")
    yield "report form, refused on the phone"
    tap(page, "#report-cancel")
    page.wait_for_selector("#report", state="hidden")
    tap(page, "#detail-back")
    page.wait_for_selector("#detail", state="hidden")
    tap(page, "#map-legend-button")
    page.wait_for_selector("#map-legend:not([hidden])")
    yield "legend"
    tap(page, "#map-legend .map-legend-close")
    page.wait_for_selector("#map-legend", state="hidden")
    for tab in ("handoff", "offline", "account"):
        tap(page, f'.tabbar [data-tab="{tab}"]')
        page.wait_for_selector(f"#view-{tab}:not([hidden])")
        if tab == "handoff":
            page.wait_for_selector("#handoff-form fieldset")
        yield {"handoff": "211 handoff form", "offline": "offline tab", "account": "account tab"}[tab]
    tap(page, '.tabbar [data-tab="nearby"]')


# --- axe ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("display", ["light", "dark", "outdoor"])
@pytest.mark.parametrize("language", ["en", "fr"])
def test_axe_finds_nothing_serious_on_any_screen(server, browser, worker_token, language, display):
    scheme = "dark" if display == "dark" else "light"
    outdoor = display == "outdoor"
    # Outdoor promises 7:1 for text (WCAG AAA): axe's enhanced contrast rule checks it.
    extra_rules = ["color-contrast-enhanced"] if outdoor else []
    context = new_context(browser, language, scheme, outdoor=outdoor)
    findings: dict[str, list[dict]] = {}

    def check(page, screen):
        found = axe_findings(page)
        if extra_rules:
            found += axe_findings(page, rules=extra_rules)
        findings[screen] = found

    try:
        page = open_sign_in(context, server)
        assert page.evaluate("document.documentElement.lang") == language
        assert page.evaluate("document.documentElement.dataset.theme") == scheme
        check(page, "sign-in")
        page.close()
        page = open_app(context, server, worker_token)
        for screen in each_screen(page):
            check(page, screen)
    finally:
        context.close()

    report = "\n".join(
        describe_findings(found, f"{language}/{display}/{screen}") for screen, found in findings.items() if found
    )
    print(f"\naxe, {language}, {display}:\n{report or 'no findings'}")
    serious = [
        (screen, finding["id"], node["target"])
        for screen, found in findings.items()
        for finding in serious_findings(found)
        for node in finding["nodes"]
    ]
    assert not serious, f"serious or critical findings ({language}, {display}): {serious}; all findings:\n{report}"


def provider_screens(page):
    """The provider view as the night staff use it: the list, a count changed, a count refused."""
    yield "provider view"
    card = page.locator("#provider-list article.provider-service").first
    card.locator(".count-row .step-plus").first.tap()
    page.wait_for_selector("#provider-list article.provider-service[data-dirty='true']")
    yield "provider view, a count changed"
    card.locator(".count-row input").first.fill("-1")
    card.locator(".provider-save").tap()
    page.wait_for_selector("#provider-list .count-row .field-error")
    yield "provider view, a count refused"
    card.locator(".provider-undo").tap()


@pytest.mark.parametrize("display", ["light", "dark", "outdoor"])
@pytest.mark.parametrize("language", ["en", "fr"])
def test_axe_finds_nothing_serious_in_the_provider_view(server, browser, provider, language, display):
    context = new_context(browser, language, "dark" if display == "dark" else "light", outdoor=display == "outdoor")
    findings: dict[str, list[dict]] = {}
    try:
        page = open_provider(context, server, provider["token"])
        for screen in provider_screens(page):
            findings[screen] = axe_findings(page) + (
                axe_findings(page, rules=["color-contrast-enhanced"]) if display == "outdoor" else []
            )
    finally:
        context.close()
    report = "\n".join(
        describe_findings(found, f"{language}/{display}/{screen}") for screen, found in findings.items() if found
    )
    print(f"\naxe, provider view, {language}, {display}:\n{report or 'no findings'}")
    serious = [
        (screen, finding["id"], node["target"])
        for screen, found in findings.items()
        for finding in serious_findings(found)
        for node in finding["nodes"]
    ]
    assert not serious, f"serious or critical findings ({language}, {display}): {serious}; all findings:\n{report}"


# --- 320 px, 44 px targets, 14 px text ---------------------------------------------------------


def _measure(page, screen: str, problems: list[str], notes: list[str]):
    result = page.evaluate(MEASURE, [SIDEWAYS_SCROLLERS, SMALL_PHONE["width"]])
    if result["scrollWidth"] > SMALL_PHONE["width"]:
        problems.append(f"{screen}: the page is {result['scrollWidth']} px wide (320 px screen)")
    problems.extend(
        f"{screen}: {line}" for key in ("pastEdge", "sideways", "smallTargets", "smallText") for line in result[key]
    )
    # Text shortened on purpose (an ellipsis) is printed, not failed: it is a design choice
    # of its owner, but words a person cannot read all the same.
    notes.extend(f"{screen}: {line}" for line in result["cutText"])


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("display", ["light", "outdoor"])
def test_at_320_px_nothing_scrolls_sideways_targets_are_44_px_and_text_14_px(
    server, browser, worker_token, language, display
):
    context = new_context(browser, language, viewport=SMALL_PHONE, outdoor=display == "outdoor")
    problems: list[str] = []
    notes: list[str] = []
    try:
        page = open_sign_in(context, server)
        _measure(page, "sign-in", problems, notes)
        page.close()
        page = open_app(context, server, worker_token)
        assert page.evaluate("window.innerWidth") == 320
        for screen in each_screen(page):
            _measure(page, screen, problems, notes)
        # The longest status the top bar shows: offline with a saved area and handoffs to send.
        longest = {"en": "Offline · saved area · 12 to send", "fr": "Hors ligne · zone enregistrée · 12 à envoyer"}[
            language
        ]
        page.evaluate(
            """(text) => { const pill = document.querySelector('#net-status');
                                     pill.textContent = text; pill.dataset.state = 'offline'; }""",
            longest,
        )
        _measure(page, "top bar, longest status", problems, notes)
        bar = page.evaluate("""() => [...document.querySelectorAll('.topbar > *')].map((e) => {
            const r = e.getBoundingClientRect(); return [r.left, r.right]; })""")
        assert all(right <= 320 + 0.5 for _, right in bar), bar
    finally:
        context.close()
    print(f"\n320 px, {language}, {display}: text cut short\n" + ("\n".join(sorted(set(notes))) or "none"))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_provider_view_at_320_px(server, browser, provider, language):
    context = new_context(browser, language, viewport=SMALL_PHONE)
    problems: list[str] = []
    notes: list[str] = []
    try:
        page = open_provider(context, server, provider["token"])
        for screen in provider_screens(page):
            _measure(page, screen, problems, notes)
            if screen == "provider view, a count refused":
                screenshot(page, f"provider-320-{language}")
    finally:
        context.close()
    print(f"\n320 px, provider view, {language}: text cut short\n" + ("\n".join(sorted(set(notes))) or "none"))
    assert not problems, "\n".join(problems)


# --- themes ------------------------------------------------------------------------------------


def _map_background(page) -> str:
    return page.evaluate(
        """() => fieldnavDebug.getMap().getStyle().layers.find((l) => l.id === 'background').paint['background-color']"""
    )


def _body_background(page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def test_the_dark_theme_follows_the_phone_and_the_map_goes_dark_too(server, browser, worker_token):
    context = new_context(browser, "en", "dark")
    try:
        page = open_app(context, server, worker_token)
        wait_map(page, "network")
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        assert page.evaluate("document.documentElement.dataset.contrast") == ""
        assert luminance(_body_background(page)) < 0.05, _body_background(page)
        assert luminance(page.evaluate("getComputedStyle(document.body).color")) > 0.6
        assert luminance(_map_background(page)) < 0.05, _map_background(page)
        land = page.evaluate("fieldnavDebug.getMap().getPaintProperty('basemap-land-fill', 'fill-color')")
        assert land is None or luminance(land if isinstance(land, str) else "#000000") < 0.05, land
        meta = page.evaluate("document.querySelector('meta[name=theme-color]').content")
        assert luminance(meta) < 0.05, meta
        page.wait_for_timeout(300)
        screenshot(page, "nearby-dark", docs=True)

        # The phone turns light: the app and the map follow at once.
        page.emulate_media(color_scheme="light")
        page.wait_for_function("() => document.documentElement.dataset.theme === 'light'")
        wait_map(page)
        assert luminance(_body_background(page)) > 0.8
        assert luminance(_map_background(page)) > 0.7
        page.emulate_media(color_scheme="dark")
        page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
        wait_map(page)
        assert luminance(_map_background(page)) < 0.05
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_outdoor_option_is_high_contrast_light_and_kept_after_a_restart(server, browser, worker_token, scheme):
    context = new_context(browser, "fr", scheme)
    try:
        page = open_app(context, server, worker_token)
        tap(page, '.tabbar [data-tab="account"]')
        setting = page.locator("#display-setting fieldset")
        assert setting.locator("legend").text_content() == "Affichage"
        assert page.locator("#display-system").is_checked()
        page.locator("label:has(#display-outdoor)").tap()
        page.wait_for_function("() => document.documentElement.dataset.contrast === 'high'")
        # Outdoor is light even when the phone is dark (theme.js says why).
        assert page.evaluate("document.documentElement.dataset.theme") == "light"
        assert page.locator("#display-outdoor").is_checked()
        assert (
            page.evaluate(
                "document.documentElement.style.colorScheme || getComputedStyle(document.documentElement).colorScheme"
            )
            == "light"
        )

        page.reload()
        page.wait_for_selector("#app:not([hidden])", timeout=WAIT_MS)
        wait_list(page)
        assert page.evaluate("document.documentElement.dataset.contrast") == "high"
        assert page.evaluate("document.documentElement.dataset.theme") == "light"
        tap(page, '.tabbar [data-tab="account"]')
        assert page.locator("#display-outdoor").is_checked()
        assert page.locator("#display-setting legend").text_content() == "Affichage"
        # Black on white: the text is near-black, the screen white.
        assert luminance(page.evaluate("getComputedStyle(document.body).color")) < 0.01
        assert luminance(_body_background(page)) > 0.95
        tap(page, '.tabbar [data-tab="nearby"]')
        wait_map(page)
        assert page.evaluate("fieldnavDebug.getMap().getPaintProperty('services', 'circle-stroke-color')") == "#000000"
        if scheme == "light":
            page.wait_for_timeout(300)
            screenshot(page, "nearby-outdoor")

        # Back to following the phone.
        tap(page, '.tabbar [data-tab="account"]')
        page.locator("label:has(#display-system)").tap()
        page.wait_for_function(
            f"() => document.documentElement.dataset.theme === '{scheme}' && document.documentElement.dataset.contrast === ''"
        )
    finally:
        context.close()


# --- the map's controls and legend ------------------------------------------------------------


def _labels(page, selector: str) -> tuple[str | None, str | None]:
    element = page.locator(f"#map {selector}")
    return element.get_attribute("aria-label"), element.get_attribute("title")


def test_the_map_controls_speak_french_after_the_switch(server, browser, worker_token):
    context = new_context(browser, "en")
    try:
        page = open_app(context, server, worker_token)
        wait_map(page)
        assert _labels(page, ".maplibregl-ctrl-zoom-in") == ("Zoom in", "Zoom in")
        assert _labels(page, ".maplibregl-ctrl-attrib-button") == ("Map credits", "Map credits")
        tap(page, "#lang-toggle")
        page.wait_for_function("() => document.documentElement.lang === 'fr'")
        assert _labels(page, ".maplibregl-ctrl-zoom-in") == ("Zoom avant", "Zoom avant")
        assert _labels(page, ".maplibregl-ctrl-zoom-out") == ("Zoom arrière", "Zoom arrière")
        assert _labels(page, ".maplibregl-ctrl-attrib-button") == ("Sources de la carte", "Sources de la carte")
        assert _labels(page, "#map-legend-button") == ("Légende", "Légende")
        # Made again after the switch (a new page load in French), the controls are French too.
        page.reload()
        page.wait_for_selector("#app:not([hidden])", timeout=WAIT_MS)
        wait_map(page)
        assert _labels(page, ".maplibregl-ctrl-zoom-out") == ("Zoom arrière", "Zoom arrière")
        tap(page, "#lang-toggle")
        page.wait_for_function("() => document.documentElement.lang === 'en'")
        assert _labels(page, ".maplibregl-ctrl-zoom-out") == ("Zoom out", "Zoom out")
    finally:
        context.close()


def test_the_legend_explains_the_map_and_closes_with_its_button_or_escape(server, browser, worker_token):
    context = new_context(browser, "en")
    try:
        page = open_app(context, server, worker_token)
        wait_map(page)
        categories = page.evaluate("fieldnavDebug.state.categories")
        labels = {c["code"]: c for c in categories}
        button = page.locator("#map-legend-button")
        assert button.get_attribute("aria-expanded") == "false"
        assert button.get_attribute("aria-label") == "Legend"
        size = button.bounding_box()
        assert size["width"] >= 44 and size["height"] >= 44
        button.tap()
        legend = page.locator("#map-legend")
        legend.wait_for(state="visible")
        assert button.get_attribute("aria-expanded") == "true"
        assert page.evaluate("document.activeElement.classList.contains('map-legend-close')")
        rows = page.eval_on_selector_all("#map-legend li", "els => els.map((e) => [e.dataset.code, e.textContent])")
        by_code = dict(rows)
        for code in ("crisis", "shelter", "mental_health", "food", "senior_support"):
            assert by_code[code] == labels[code]["label_en"]
        assert by_code["other"] == "Other services"
        assert by_code["cluster"] == "Several services (tap to zoom in)"
        assert by_code["origin"] == "You / chosen place"
        assert by_code["area"] == "Saved offline area"
        page.wait_for_timeout(200)
        screenshot(page, "legend")

        page.keyboard.press("Escape")
        legend.wait_for(state="hidden")
        assert button.get_attribute("aria-expanded") == "false"
        assert page.evaluate("document.activeElement.id") == "map-legend-button"

        # In French, opened again; closed with its button.
        tap(page, "#lang-toggle")
        page.wait_for_function("() => document.documentElement.lang === 'fr'")
        button.tap()
        legend.wait_for(state="visible")
        assert page.locator("#map-legend-title").text_content() == "Légende"
        assert page.locator('#map-legend li[data-code="shelter"]').text_content() == labels["shelter"]["label_fr"]
        assert page.locator('#map-legend li[data-code="other"]').text_content() == "Autres services"
        close = page.locator("#map-legend .map-legend-close")
        assert close.get_attribute("aria-label") == "Fermer la légende"
        close.tap()
        legend.wait_for(state="hidden")
        assert button.get_attribute("aria-expanded") == "false"
    finally:
        context.close()
