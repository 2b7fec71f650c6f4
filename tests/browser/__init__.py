"""Helpers of the browser tests (tests/test_browser*.py): Debian's Chromium driven by
Playwright for Python, a phone-sized context, screenshots, the web build, a test basemap.

Chromium is Debian's (/usr/bin/chromium, `apt-get install chromium`; `make test` installs
it): Playwright's own browser download is never used.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.support import PROJECT_ROOT

CHROMIUM = Path(os.environ.get("FIELDNAV_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"viewport": {"width": 360, "height": 640}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts" / "browser"
DOCS_SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
WEB = PROJECT_ROOT / "web"


def require_chromium() -> None:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests use Debian's Chromium. Run `make test` (it installs it) "
            "or `apt-get install chromium`."
        )


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


# --- accessibility: axe-core ----------------------------------------------------------------------

AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
SERIOUS = ("serious", "critical")


def axe_findings(
    page, *, tags: list[str] | None = None, rules: list[str] | None = None, include: str | None = None
) -> list[dict]:
    """axe-core's violations on the page as it is now: [{id, impact, help, nodes: [{target,
    html, summary}]}]. axe.min.js comes from web/node_modules (axe-core is a dev dependency
    of the field client). The app's Content-Security-Policy (script-src 'self') refuses an
    injected <script>; then the same source is evaluated through the DevTools protocol, which
    the policy does not govern. ``rules`` runs those rules only, instead of ``tags``."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make web` (npm ci installs axe-core).")
    if not page.evaluate("typeof window.axe === 'object'"):
        with contextlib.suppress(PlaywrightError):  # refused by the page's CSP: evaluated below
            page.add_script_tag(path=str(AXE))
        if not page.evaluate("typeof window.axe === 'object'"):
            page.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")
    run_only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": tags or AXE_TAGS}
    return page.evaluate(
        """async ([include, runOnly]) => {
            const result = await axe.run(include ? {include: [include]} : document, {runOnly, resultTypes: ['violations']});
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => ({target: n.target.join(' '), html: n.html.slice(0, 240), summary: n.failureSummary || ''})),
            }));
        }""",
        [include, run_only],
    )


def serious_findings(findings: list[dict]) -> list[dict]:
    return [f for f in findings if f["impact"] in SERIOUS]


def describe_findings(findings: list[dict], screen: str = "") -> str:
    """One line per rule, one indented line per element: for assertion messages and reports."""
    lines = []
    for finding in findings:
        lines.append(f"{screen + ': ' if screen else ''}[{finding['impact']}] {finding['id']}: {finding['help']}")
        for node in finding["nodes"]:
            summary = " ".join(node["summary"].split())
            lines.append(f"    {node['target']}  {node['html']}\n      {summary}")
    return "\n".join(lines)
