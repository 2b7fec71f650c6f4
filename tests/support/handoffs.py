"""Handoff test data: the tests' encryption key, navigator centres, request bodies, and the
``fieldnav`` command with the handoff settings.

Every handoff test runs on the real stack: a fresh PostGIS database migrated from the
template, navigator centres loaded from a file, `fieldnav serve` in a subprocess, real HTTP
(the fixtures: tests/support/handoff_fixtures.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from service.auth.principal import Role
from service.handoffs.centres import load_centres
from service.handoffs.crypto import KeyRing
from tests.support import PROJECT_ROOT
from tests.support.databases import app_url_for
from tests.support.tokens import auth

# The tests' own key: the servers they start get it through the environment, and the tests
# use it to check what is stored.
TEST_KEY = Fernet.generate_key().decode()
RING = KeyRing([TEST_KEY.encode()])
WEBHOOK_SECRET_ENV = "FIELDNAV_TEST_WEBHOOK_SECRET"
WEBHOOK_SECRET = "whsec-test-" + uuid.uuid4().hex

HANDOFF_ENV = {
    "FIELDNAV_HANDOFF_KEYS": TEST_KEY,
    "FIELDNAV_AUTH_PUBLIC_READS": "false",
    "FIELDNAV_LIMIT_REQUESTS_PER_MIN": "1000000",
}

ONTARIO_FILE = PROJECT_ROOT / "service" / "data" / "centres" / "ontario.json"
TORONTO = {"lat": 43.6534, "lon": -79.3839}
OTTAWA = {"lat": 45.4215, "lon": -75.6972}
EAST_CENTRE = "211-east"
DEFAULT_CENTRE = "211-ontario"


def east_centre(webhook_url: str | None = None, **overrides) -> dict:
    """A regional centre serving a box around Ottawa, open weekdays (a smaller area than
    the Ontario default, so it wins there)."""
    centre = {
        "id": EAST_CENTRE,
        "name": {"en": "211 East", "fr": "211 Est"},
        "phone": "+1 613 555 0100",
        "hours": {
            "timezone": "America/Toronto",
            "weekly": {day: ["08:00-20:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
        },
        "callback_within_h": {"routine": 8, "urgent": 1},
        "languages": ["en", "fr"],
        "area": {
            "type": "Polygon",
            "coordinates": [[[-76.4, 45.0], [-75.2, 45.0], [-75.2, 45.6], [-76.4, 45.6], [-76.4, 45.0]]],
        },
    }
    if webhook_url:
        centre.update(webhook_url=webhook_url, webhook_secret_env=WEBHOOK_SECRET_ENV)
    centre.update(overrides)
    return centre


def write_centres(path: Path, *centres: dict) -> Path:
    path.write_text(json.dumps({"centres": list(centres)}))
    return path


def load_test_centres(database_url: str, folder: Path, webhook_url: str | None = None, *extra: dict) -> None:
    """The shipped Ontario default centre, plus 211 East (and any extra centres)."""
    engine = create_engine(database_url)
    try:
        load_centres(engine, ONTARIO_FILE)
        load_centres(
            engine, write_centres(folder / f"centres-{uuid.uuid4().hex[:6]}.json", east_centre(webhook_url), *extra)
        )
    finally:
        engine.dispose()


def navigator_auth(subject: str = "nav-1", centre: str = DEFAULT_CENTRE, key: str | None = None) -> dict:
    return auth(Role.NAVIGATOR, centre, subject, key)


def handoff_body(
    *,
    phone: str | None = "+1 416 555 0199",
    note: str | None = "needs a bed tonight",
    name: str | None = None,
    location: dict | None = TORONTO,
    urgency: str = "routine",
    needs=("shelter",),
    consent_scope=("contact",),
    must_attend: bool = False,
    language: str = "en",
    **extra,
) -> dict:
    body = {"needs": {"groups": list(needs)}, "urgency": urgency, "language": language}
    if note:
        body["needs"]["note"] = note
    if consent_scope:
        body["consent"] = {"type": "verbal", "scope": list(consent_scope), "script_version": "on-211-2026.1"}
    contact = {}
    if phone:
        contact["phone"] = phone
    if name:
        contact["name"] = name
    if contact:
        body["contact"] = contact
    if location:
        body["location"] = {**location, "navigator_must_attend": must_attend}
    body.update(extra)
    return body


def create(
    client,
    body: dict | None = None,
    role: Role = Role.FIELD_WORKER,
    agency: str = "agency-a",
    subject: str = "worker-1",
) -> dict:
    response = client.post("/v1/handoffs", json=body or handoff_body(), headers=auth(role, agency, subject))
    assert response.status_code == 201, response.text
    return response.json()


def set_status(engine, handoff_id: str, status: str, *, owner: str | None = "nav-1") -> None:
    """Put a handoff in a status directly (the table-driven tests start from every status)."""
    final = status in ("rejected", "completed", "failed", "cancelled", "entered-in-error")
    with engine.begin() as connection:
        connection.execute(
            text("""
            UPDATE handoff SET status = :status, owner_issuer = CASE WHEN CAST(:owner AS text) IS NULL THEN NULL ELSE 'fieldnav' END,
                   owner_subject = :owner, closed_at = CASE WHEN :final THEN now() ELSE NULL END
            WHERE id = :id
        """),
            {"status": status, "owner": owner if status != "requested" else None, "final": final, "id": handoff_id},
        )


def roles_env(database_url: str) -> dict:
    """A command's database settings: the application role (purge, worker, audit export, key
    rotation) and the migration role (centres load), as in production."""
    return {"FIELDNAV_DATABASE_URL": app_url_for(database_url), "FIELDNAV_MIGRATION_DATABASE_URL": database_url}


def fieldnav(
    database_url: str, *args: str, env: dict | None = None, timeout_s: float = 120
) -> subprocess.CompletedProcess:
    environment = {**os.environ, **roles_env(database_url), **HANDOFF_ENV, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env=environment,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
