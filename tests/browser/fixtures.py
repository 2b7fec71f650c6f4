"""Fixtures of the browser tests (a pytest plugin, named in tests/conftest.py): the web build,
the demo database with the navigator centres, one `fieldnav serve` per test module (directory
reads closed, real tokens, a generated basemap), Debian's Chromium and a phone context; an
admin's API client, and a provider account granted the organization of a shelter near the
worker (issue 16's provider view)."""

from __future__ import annotations

import httpx
import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine

from service.auth.principal import Role
from service.handoffs.centres import load_centres
from tests.browser import ensure_web_build, launch, phone_context
from tests.browser.app import ONTARIO_CENTRES, TORONTO, grant_provider, token_for
from tests.browser.basemap import write_basemap
from tests.support.servers import start_server, stop_server
from tests.support.sms_receiver import SmsReceiver
from tests.support.smtp_server import SmtpServer


@pytest.fixture(scope="module")
def web_dist():
    return ensure_web_build()


@pytest.fixture(scope="module")
def field_database_url(demo_database_url):
    engine = create_engine(demo_database_url)
    try:
        load_centres(engine, ONTARIO_CENTRES)
    finally:
        engine.dispose()
    return demo_database_url


@pytest.fixture(scope="module")
def server(field_database_url, web_dist, tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    basemap = folder / "basemap.pmtiles"
    write_basemap(basemap)
    live = start_server(
        field_database_url,
        env={
            "FIELDNAV_AUTH_PUBLIC_READS": "false",
            "FIELDNAV_HANDOFF_KEYS": Fernet.generate_key().decode(),
            "FIELDNAV_PACKS_DIR": str(folder / "packs"),
            "FIELDNAV_BASEMAP_PMTILES": str(basemap),
            # No street style from the internet in tests (tests/test_browser_basemap.py serves its own).
            "FIELDNAV_BASEMAP_STYLE_URL": "",
            "FIELDNAV_LIMIT_REQUESTS_PER_MIN": "1000000",
            "FIELDNAV_LIMIT_EXPENSIVE_PER_MIN": "1000",
        },
    )
    yield live
    stop_server(live)


@pytest.fixture(scope="module")
def worker_token() -> str:
    return token_for(Role.FIELD_WORKER, "demo", "officer-4411")


@pytest.fixture(scope="module")
def api(server, worker_token):
    with httpx.Client(
        base_url=server.base_url, timeout=30, headers={"Authorization": f"Bearer {worker_token}"}
    ) as client:
        yield client


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def phone(browser):
    context = phone_context(browser, geolocation=TORONTO)
    yield context
    context.close()


@pytest.fixture(scope="module")
def admin_api(server):
    token = token_for(Role.ADMIN, "fieldnav", "admin-1")
    with httpx.Client(base_url=server.base_url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


@pytest.fixture(scope="module")
def provider(server, api, admin_api, field_database_url) -> dict:
    """A provider account (its token, subject, organization and services) granted, through the
    admin API, the organization of a shelter with a bed count near the worker."""
    return grant_provider(api, admin_api, field_database_url, subject="front-desk-1")


# --- shares by SMS and email (issue 20) -------------------------------------------------------------


@pytest.fixture(scope="module")
def sms_receiver():
    """The SMS provider's API (Twilio's format) share texts reach: a stand-in on 127.0.0.1."""
    with SmsReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def smtp_server():
    """A real SMTP server on 127.0.0.1 that share emails reach."""
    with SmtpServer() as smtp:
        yield smtp


@pytest.fixture(scope="module")
def share_keys() -> str:
    """FIELDNAV_HANDOFF_KEYS of `share_server`: a queued share's recipient is encrypted with
    them, so the `fieldnav worker` that sends it needs the same."""
    return Fernet.generate_key().decode()


@pytest.fixture(scope="module")
def share_server(field_database_url, web_dist, tmp_path_factory, sms_receiver, smtp_server, share_keys):
    """`server`'s set-up (directory reads closed, real tokens, a generated basemap) on a server
    that also takes shares by SMS and email (it queues them; `fieldnav worker` with
    ``sms_receiver.env``, ``smtp_server.env`` and ``share_keys`` sends them)."""
    folder = tmp_path_factory.mktemp("browser-shares")
    basemap = folder / "basemap.pmtiles"
    write_basemap(basemap)
    live = start_server(
        field_database_url,
        env={
            "FIELDNAV_AUTH_PUBLIC_READS": "false",
            "FIELDNAV_HANDOFF_KEYS": share_keys,
            "FIELDNAV_PACKS_DIR": str(folder / "packs"),
            "FIELDNAV_BASEMAP_PMTILES": str(basemap),
            "FIELDNAV_BASEMAP_STYLE_URL": "",
            "FIELDNAV_LIMIT_REQUESTS_PER_MIN": "1000000",
            "FIELDNAV_LIMIT_EXPENSIVE_PER_MIN": "1000",
            **sms_receiver.env,
            **smtp_server.env,
        },
    )
    yield live
    stop_server(live)
