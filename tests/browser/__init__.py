"""Helpers of the browser tests (tests/test_browser*.py): Debian's Chromium driven by
Playwright for Python, a phone-sized context, screenshots, the web build, a test basemap.

Chromium is Debian's (/usr/bin/chromium, `apt-get install chromium`; `make test` installs
it): Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

CHROMIUM = Path(os.environ.get("FIELDNAV_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
    "--no-first-run", "--disable-component-update", "--disable-sync",
]
PHONE = {"viewport": {"width": 360, "height": 640}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts" / "browser"
DOCS_SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
WEB = PROJECT_ROOT / "web"


def require_chromium() -> None:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests use Debian's Chromium. Run `make test` (it installs it) "
                    "or `apt-get install chromium`.")


def ensure_web_build() -> Path:
    """web/dist, built by the Makefile's `web` target (npm ci + vite build) when missing or stale."""
    if shutil.which("npm") is None or shutil.which("make") is None:
        pytest.fail("npm and make are needed to build the field client (web/): see README, 'Field client (PWA)'.")
    result = subprocess.run(["make", "--no-print-directory", "web"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"building the field client failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    dist = WEB / "dist"
    assert (dist / "index.html").is_file() and (dist / "sw.js").is_file()
    return dist


def launch(playwright):
    """Debian's Chromium, headless, with a fresh profile (Playwright gives each launch a new
    user data directory) and none of its background connections."""
    require_chromium()
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def phone_context(browser, *, geolocation: dict | None = None, locale: str = "en-CA", **extra):
    """A 360x640 phone (device scale 2). With ``geolocation``, the page may read that position."""
    options = {**PHONE, "locale": locale, "timezone_id": "America/Toronto", **extra}
    if geolocation is not None:
        options.update(geolocation=geolocation, permissions=["geolocation"])
    return browser.new_context(**options)


def screenshot(page, name: str, *, docs: bool = False) -> Path:
    """Save a phone-sized screenshot in tests/artifacts/browser. Those marked ``docs`` are
    the committed ones in docs/screenshots (the README shows one): written there when
    missing, or refreshed on purpose with FIELDNAV_DOCS_SCREENSHOTS=1, so that a test run
    does not rewrite committed files."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    committed = DOCS_SCREENSHOTS / f"{name}.png"
    if docs and (not committed.exists() or os.environ.get("FIELDNAV_DOCS_SCREENSHOTS") == "1"):
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, committed)
    return path
