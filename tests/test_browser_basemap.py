"""A street map (issue 19, part 4): the basemap style the server names
(FIELDNAV_BASEMAP_STYLE_URL) drawn under fieldnav's own layers while online, and what the
field client falls back to when it cannot be had: the saved area's basemap, the server's
PMTiles basemap, a plain background; never a blank map. And the app opened with public reads
and no token: the map and the list, with a way to sign in.

No internet here: the "public" style is served by a small HTTP server of this module (a style
JSON over the vector tiles of tests/browser/basemap.py), which can also refuse it (404) or
never answer. The fieldnav server of this module has directory reads open to the public.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from service.auth.principal import Role
from service.platform.settings import BasemapSettings
from tests.browser import phone_context, screenshot
from tests.browser.app import TORONTO, WAIT_MS, open_app, rendered, save_default_area, token_for, wait_list, wait_map
from tests.browser.basemap import write_basemap
from tests.support.servers import start_server, stop_server

DEFAULT_STYLE = "https://tiles.openfreemap.org/styles/liberty"
ATTRIBUTION = "© OpenStreetMap contributors (test street map)"
# The app's STYLE_TIMEOUT_MS (web/src/map.js) and some room for a slow test machine.
STYLE_TIMEOUT_S = 4
# The test style's own layers: one named like fieldnav's background (renamed by the app).
STREET_LAYERS = ("background", "streets-land", "streets-water", "streets-shore")


# --- the Python side: the setting ------------------------------------------------------------------


def test_the_style_setting_defaults_to_openfreemap_and_an_empty_value_turns_it_off(monkeypatch):
    monkeypatch.delenv("FIELDNAV_BASEMAP_STYLE_URL", raising=False)
    assert BasemapSettings().style == DEFAULT_STYLE
    monkeypatch.setenv("FIELDNAV_BASEMAP_STYLE_URL", "")
    assert BasemapSettings().style is None
    monkeypatch.setenv("FIELDNAV_BASEMAP_STYLE_URL", "   ")
    assert BasemapSettings().style is None
    monkeypatch.setenv("FIELDNAV_BASEMAP_STYLE_URL", " https://maps.example.org/style.json ")
    assert BasemapSettings().style == "https://maps.example.org/style.json"
    monkeypatch.setenv("FIELDNAV_BASEMAP_STYLE_URL", "file:///etc/passwd")
    with pytest.raises(ValidationError):
        BasemapSettings()


# --- a street map served here ------------------------------------------------------------------


class StreetMapServer:
    """The style at /style.json and its tiles at /tiles/{z}/{x}/{y}.pbf; ``mode``: 'ok', '404'
    (the style refused), 'hang' (no answer to the style) or 'broken-tiles' (the style, but every
    tile refused); ``requests``: the paths asked."""

    def __init__(self, tiles: dict[tuple[int, int, int], bytes]):
        self.tiles = tiles
        self.mode = "ok"
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: bytes = b"", media_type: str = "application/json"):
                self.send_response(status)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Type", media_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                outer.requests.append(self.path)
                if self.path == "/style.json":
                    if outer.mode == "hang":
                        time.sleep(20)
                        return
                    if outer.mode == "404":
                        self._send(404, b'{"error": "no such style"}')
                        return
                    self._send(200, json.dumps(outer.style()).encode())
                    return
                if self.path.startswith("/tiles/") and outer.mode == "broken-tiles":
                    self._send(500, b'{"error": "tile server down"}')
                    return
                parts = self.path.removeprefix("/tiles/").removesuffix(".pbf").split("/")
                if self.path.startswith("/tiles/") and len(parts) == 3 and all(p.isdigit() for p in parts):
                    z, x, y = (int(p) for p in parts)
                    tile = outer.tiles.get((z, x, y))
                    if tile is None:
                        self._send(204)
                    else:
                        self._send(200, tile, "application/vnd.mapbox-vector-tile")
                    return
                self._send(404)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def style(self) -> dict:
        return {
            "version": 8,
            "name": "test streets",
            "sources": {
                # Relative tile URLs: the app makes them absolute against the style's URL.
                "streets": {
                    "type": "vector",
                    "tiles": ["tiles/{z}/{x}/{y}.pbf"],
                    "minzoom": 8,
                    "maxzoom": 14,
                    "attribution": ATTRIBUTION,
                }
            },
            "layers": [
                {"id": "background", "type": "background", "paint": {"background-color": "#f2efe9"}},
                {
                    "id": "streets-land",
                    "type": "fill",
                    "source": "streets",
                    "source-layer": "land",
                    "paint": {"fill-color": "#f4f1ea"},
                },
                {
                    "id": "streets-water",
                    "type": "fill",
                    "source": "streets",
                    "source-layer": "water",
                    "paint": {"fill-color": "#9ecae1"},
                },
                {
                    "id": "streets-shore",
                    "type": "line",
                    "source": "streets",
                    "source-layer": "water",
                    "paint": {"line-color": "#4a90c2", "line-width": 2},
                },
            ],
        }

    def asked(self, prefix: str) -> list[str]:
        return [p for p in self.requests if p.startswith(prefix)]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def streets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("streets")
    tiles = write_basemap(folder / "streets.pmtiles")
    with StreetMapServer(tiles) as served:
        yield served


@pytest.fixture(scope="module")
def server(field_database_url, web_dist, tmp_path_factory, streets):
    """fieldnav with public reads, a PMTiles basemap (copied into packs) and the street map."""
    folder = tmp_path_factory.mktemp("basemap-browser")
    basemap = folder / "basemap.pmtiles"
    write_basemap(basemap)
    live = start_server(
        field_database_url,
        env={
            "FIELDNAV_AUTH_PUBLIC_READS": "true",
            "FIELDNAV_HANDOFF_KEYS": Fernet.generate_key().decode(),
            "FIELDNAV_PACKS_DIR": str(folder / "packs"),
            "FIELDNAV_BASEMAP_PMTILES": str(basemap),
            "FIELDNAV_BASEMAP_STYLE_URL": f"{streets.base_url}/style.json",
            "FIELDNAV_LIMIT_REQUESTS_PER_MIN": "1000000",
            "FIELDNAV_LIMIT_EXPENSIVE_PER_MIN": "1000",
        },
    )
    yield live
    stop_server(live)


@pytest.fixture
def street_mode(streets):
    """Set the street map server's behaviour for one test; 'ok' again after it."""

    def set_mode(mode: str):
        streets.mode = mode
        streets.requests.clear()

    yield set_mode
    streets.mode = "ok"


def _token() -> str:
    return token_for(Role.FIELD_WORKER, "demo", "officer-19")


def wait_basemap(page, kind: str, timeout: int = WAIT_MS):
    page.wait_for_function(
        """(kind) => {
            const map = document.querySelector('#map');
            return fieldnavDebug.basemapShown() === kind && map.dataset.idle === 'true' && map.dataset.basemap === kind;
        }""",
        arg=kind,
        timeout=timeout,
    )


def style_layers(page) -> list[str]:
    return page.evaluate("fieldnavDebug.getMap().getStyle().layers.map((l) => l.id)")


def show_the_shore(page):
    """Zoom out over the test map's shoreline (water south of it), and wait for the map."""
    page.evaluate("fieldnavDebug.getMap().jumpTo({zoom: 11.5, center: [-79.3839, 43.645]})")
    page.wait_for_timeout(200)
    wait_map(page)


def not_blank(page):
    """Something drawn besides a background: services and a basemap's features."""
    assert rendered(page, "services") + rendered(page, "clusters") > 0
    layers = [layer for layer in style_layers(page) if layer not in ("area", "services", "clusters", "origin")]
    drawn = page.evaluate(
        "(layers) => fieldnavDebug.getMap().queryRenderedFeatures({layers}).length",
        [layer for layer in layers if not layer.endswith("background")],
    )
    assert drawn > 0, layers


# --- online: the street map ------------------------------------------------------------------------


def test_online_the_street_map_is_drawn_under_fieldnavs_layers_with_its_attribution(
    server, browser, streets, street_mode
):
    street_mode("ok")
    context = phone_context(browser, geolocation=TORONTO)
    try:
        page = open_app(context, server, _token())
        wait_basemap(page, "style")
        assert streets.asked("/style.json") and streets.asked("/tiles/"), streets.requests
        layers = style_layers(page)
        # Its layers first (the one named like fieldnav's renamed), fieldnav's on top.
        assert layers[:4] == ["street-background", "streets-land", "streets-water", "streets-shore"], layers
        assert layers[4:] == ["area", "clusters", "services", "origin"], layers
        sources = page.evaluate("fieldnavDebug.getMap().getStyle().sources")
        assert sources["streets"]["tiles"] == [f"{streets.base_url}/tiles/{{z}}/{{x}}/{{y}}.pbf"]
        assert "basemap" not in sources, "the PMTiles basemap is not drawn under the street map"
        not_blank(page)
        assert rendered(page, "streets-land") > 0
        # The attribution (MapLibre's control): one tap away, and says whose map it is.
        page.locator(".maplibregl-ctrl-attrib-button").tap()
        page.wait_for_function(
            "(text) => document.querySelector('.maplibregl-ctrl-attrib-inner').textContent.includes(text)",
            arg=ATTRIBUTION,
        )
        screenshot(page, "street-map-attribution")
        page.locator(".maplibregl-ctrl-attrib-button").tap()  # closed again
        show_the_shore(page)
        assert rendered(page, "streets-water") > 0
        screenshot(page, "street-map")
    finally:
        context.close()


def test_the_street_map_in_french_and_the_dark_theme_keeps_fieldnavs_marks_readable(
    server, browser, streets, street_mode
):
    street_mode("ok")
    context = phone_context(browser, geolocation=TORONTO, locale="fr-CA", color_scheme="dark")
    try:
        page = open_app(context, server, _token())
        wait_basemap(page, "style")
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        assert page.evaluate("document.documentElement.lang") == "fr"
        # The street map is light: fieldnav's marks keep their light-map colours on it.
        stroke = page.evaluate("fieldnavDebug.getMap().getPaintProperty('services', 'circle-stroke-color')")
        assert stroke == "#ffffff"
        assert page.evaluate("fieldnavDebug.getMap().getPaintProperty('streets-water', 'fill-color')") == "#9ecae1"
        not_blank(page)
        show_the_shore(page)
        screenshot(page, "street-map-fr-dark")
    finally:
        context.close()


# --- and when it cannot be had ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["404", "hang"])
def test_a_street_map_that_fails_falls_back_within_the_timeout_and_the_map_is_not_blank(
    server, browser, streets, street_mode, mode
):
    street_mode(mode)
    context = phone_context(browser, geolocation=TORONTO)
    try:
        page = open_app(context, server, _token())
        started = time.monotonic()
        # Drawn at once over the server's PMTiles basemap; the style never replaces it.
        wait_basemap(page, "network", timeout=(STYLE_TIMEOUT_S + 4) * 1000)
        wait_map(page, "network")
        assert time.monotonic() - started < STYLE_TIMEOUT_S + 4
        assert streets.asked("/style.json")
        page.wait_for_timeout(STYLE_TIMEOUT_S * 1000 + 500)  # past the timeout: still the fallback
        wait_map(page, "network")
        assert page.evaluate("fieldnavDebug.basemapShown()") == "network"
        assert rendered(page, "basemap-land-fill") + rendered(page, "basemap-water-fill") > 0
        not_blank(page)
        assert not streets.asked("/tiles/")
        screenshot(page, f"street-map-fallback-{mode}")
    finally:
        context.close()


def test_a_street_map_whose_tiles_all_fail_is_dropped_for_the_fallback(server, browser, streets, street_mode):
    street_mode("broken-tiles")
    context = phone_context(browser, geolocation=TORONTO)
    try:
        page = open_app(context, server, _token())
        page.wait_for_function("() => fieldnavDebug.basemapShown() === 'style'", timeout=WAIT_MS)
        # Its tiles refused: back to the server's PMTiles basemap after the timeout.
        wait_basemap(page, "network", timeout=(STYLE_TIMEOUT_S + 6) * 1000)
        assert streets.asked("/tiles/")
        assert rendered(page, "basemap-land-fill") + rendered(page, "basemap-water-fill") > 0
        not_blank(page)
    finally:
        context.close()


def test_offline_after_saving_an_area_the_saved_basemap_is_drawn(server, browser, streets, street_mode):
    street_mode("ok")
    context = phone_context(browser, geolocation=TORONTO)
    try:
        page = open_app(context, server, _token())
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=WAIT_MS)
        wait_basemap(page, "style")
        page.evaluate("fieldnavDebug.getMap().jumpTo({zoom: 10})")
        wait_map(page, "network")
        manifest = save_default_area(page)
        assert manifest["basemap"], "the server's PMTiles basemap goes in the pack"
        page.locator('.tabbar [data-tab="nearby"]').tap()

        context.set_offline(True)
        wait_map(page, "pack")
        wait_basemap(page, "pack")
        assert "basemap-land-fill" in style_layers(page) and "streets-land" not in style_layers(page)
        not_blank(page)

        # Started again offline: the service worker's app, the phone's area and basemap.
        streets.requests.clear()
        page.reload()
        page.wait_for_selector("#app:not([hidden])", timeout=WAIT_MS)
        wait_map(page, "pack")
        wait_basemap(page, "pack")
        not_blank(page)
        assert not streets.asked("/style.json")
        screenshot(page, "street-map-offline-pack")

        # Back online: the street map again.
        context.set_offline(False)
        wait_basemap(page, "style")
    finally:
        context.close()


# --- public reads, no token: the map and the list ---------------------------------------------------


def test_with_public_reads_and_no_token_the_app_opens_on_the_map_and_the_list(server, browser, street_mode):
    street_mode("ok")
    context = phone_context(browser, geolocation=TORONTO)
    try:
        page = context.new_page()
        page.goto(f"{server.base_url}/app/")
        page.wait_for_selector("#app:not([hidden])", timeout=WAIT_MS)
        assert page.locator("#signin").is_hidden()
        wait_list(page)
        assert int(page.locator("#nearest-list").get_attribute("data-count")) > 0
        wait_basemap(page, "style")
        not_blank(page)
        screenshot(page, "public-reads-no-token")
        # A way to sign in, for what needs a token (handoffs).
        sign_in = page.locator("#session-signin")
        assert sign_in.is_visible()
        sign_in.tap()
        page.wait_for_selector("#signin:not([hidden])")
        assert page.locator("#signin-close").is_visible(), "the map and the list are one tap away"
        page.locator("#signin-close").tap()
        page.wait_for_selector("#app:not([hidden])")
        wait_map(page, "network")
    finally:
        context.close()
