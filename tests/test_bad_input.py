"""Bad input found by a hostile probe (issue 15) that used to answer 500: each gets a 4xx RFC 9457
problem naming the field, on the real stack, and leaves nothing half-written.

The fixes are shared, not per route: one H3 cell check (spatial/cells.py), one decoder for the
handoff cursors (service/handoffs/queries.py), one range for every ISO date and time parameter
(service/api/schemas.py), and one check of request text (service/api/middleware.py: NUL in the
path, the query string or any string or key of a JSON body).
"""

from __future__ import annotations

import base64
import json
import uuid

import orjson
import pytest
from sqlalchemy import text

from service.auth.principal import Role
from tests.support.handoffs import DEFAULT_CENTRE, create, handoff_body, navigator_auth
from tests.support.tokens import auth

PROBLEM = "application/problem+json"


def _fields(response) -> list[str]:
    assert response.headers["content-type"] == PROBLEM, response.text
    return [e["field"] for e in response.json().get("errors", [])]


def _b64(value) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


# --- H3 cell ids ---------------------------------------------------------------------------------

NOT_CELLS = ["-1", "18446744073709551616", "ffffffffffffffffffff", "0x852b9bcbfffffff", " 852b9bcbfffffff1", "8"]


@pytest.mark.parametrize("region", NOT_CELLS)
def test_a_queue_region_that_is_no_h3_cell_is_422(client, region):
    response = client.get("/v1/navigator/queue", params={"region": region}, headers=navigator_auth(key=False))
    assert response.status_code == 422, response.text
    assert _fields(response) == ["query.region"]


@pytest.mark.parametrize("cell", NOT_CELLS)
def test_pack_h3_cells_that_are_no_h3_cells_are_422(client, cell):
    response = client.post(
        "/v1/offline/packs",
        json={"h3_cells": ["852b9bcbfffffff", cell], "min_zoom": 10, "max_zoom": 11},
        headers=auth(Role.FIELD_WORKER, key=False),
    )
    assert response.status_code == 422, response.text
    assert _fields(response) == ["body.h3_cells"]


# --- cursors -------------------------------------------------------------------------------------

NOW = "2026-11-25T14:03:00+00:00"
ID = str(uuid.uuid4())
LIST_CURSORS = [  # /v1/handoffs: [updated_at, id]
    _b64(["not a time", ID]),
    _b64([NOW, "not an id"]),
    _b64([1, 2]),
    _b64([None, None]),
    _b64([NOW, {"a": 1}]),
    _b64(["2026-11-25T14:03:00", ID]),
    _b64(["99999-01-01T00:00:00+00:00", ID]),
    _b64([NOW + "\u0000", ID]),
    _b64([NOW, ID, "extra"]),
    "!!!",
    "e30",
    "W10",
]
QUEUE_CURSORS = [  # /v1/navigator/queue: [rank, created_at, id]
    _b64(["x", NOW, ID]),
    _b64([1.5, NOW, ID]),
    _b64([2**40, NOW, ID]),
    _b64([True, NOW, ID]),
    _b64([0, "nope", ID]),
    _b64([0, NOW, "nope"]),
    _b64([0, NOW, ID + "\u0000"]),
    _b64([0, "0001-01-01T00:00:00+14:00", ID]),
    _b64([0, NOW]),
]


@pytest.mark.parametrize("cursor", LIST_CURSORS)
def test_tampered_handoff_list_cursors_are_422(client, cursor):
    response = client.get("/v1/handoffs", params={"cursor": cursor}, headers=auth(Role.FIELD_WORKER, key=False))
    assert response.status_code == 422, response.text
    assert _fields(response) == ["query.cursor"]


@pytest.mark.parametrize("cursor", QUEUE_CURSORS)
def test_tampered_queue_cursors_are_422(client, cursor):
    response = client.get("/v1/navigator/queue", params={"cursor": cursor}, headers=navigator_auth(key=False))
    assert response.status_code == 422, response.text
    assert _fields(response) == ["query.cursor"]


def test_cursors_the_server_gave_still_page(client):
    for _ in range(3):
        create(client)
    seen: list[str] = []
    params = {"limit": 1}
    while True:
        page = client.get("/v1/navigator/queue", params=params, headers=navigator_auth(key=False))
        assert page.status_code == 200, page.text
        seen += [h["id"] for h in page.json()["handoffs"]]
        if not page.json()["next_cursor"]:
            break
        params["cursor"] = page.json()["next_cursor"]
    assert len(seen) == len(set(seen)) >= 3
    mine = client.get("/v1/handoffs", params={"limit": 1}, headers=auth(Role.FIELD_WORKER, key=False)).json()
    assert (
        client.get(
            "/v1/handoffs",
            params={"limit": 1, "cursor": mine["next_cursor"]},
            headers=auth(Role.FIELD_WORKER, key=False),
        ).status_code
        == 200
    )


# --- extreme dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, field",
    [
        ({"until": "0001-01-01"}, "query.until"),
        ({"since": "0001-01-01", "until": "0001-01-07"}, "query.since"),
        ({"until": "9999-12-31"}, "query.until"),
        ({"since": "9999-12-25"}, "query.since"),
    ],
)
def test_stats_dates_out_of_range_are_422(client, params, field):
    response = client.get("/v1/stats/handoffs", params=params, headers=auth(Role.ADMIN, key=False))
    assert response.status_code == 422, response.text
    assert field in _fields(response)


@pytest.mark.parametrize(
    "path, name",
    [
        ("/v1/handoffs", "updated_after"),
        ("/v1/audit", "since"),
        ("/v1/audit", "until"),
        ("/v1/services/nearest", "open_at"),
    ],
)
@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00"])
def test_times_out_of_range_are_422(client, path, name, moment):
    params = {name: moment}
    if path == "/v1/services/nearest":
        params.update(lat=43.65, lon=-79.38)
    role = Role.ADMIN if path == "/v1/audit" else Role.FIELD_WORKER
    response = client.get(path, params=params, headers=auth(role, key=False))
    assert response.status_code == 422, response.text
    assert f"query.{name}" in _fields(response)


def test_a_consent_time_out_of_range_is_422(client, handoff_engine):
    body = handoff_body()
    body["consent"]["recorded_at"] = "0001-01-01T00:00:00+14:00"
    response = client.post("/v1/handoffs", json=body, headers=auth(Role.FIELD_WORKER))
    assert response.status_code == 422, response.text
    assert _fields(response) == ["body.consent.recorded_at"]


# --- NUL characters ------------------------------------------------------------------------------


def test_a_nul_in_the_app_path_is_400(client):
    response = client.get("/app/%00")
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM
    for path in ("/app/a%00b.js", "/v1/services/%00", "/v1/tiles/1/0/0.mvt%00"):
        assert client.get(path).status_code == 400, path


def _count(engine, table: str) -> int:
    with engine.connect() as connection:
        return connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


NUL_FIELDS = [
    (("needs", "note"), "body.needs.note"),
    (("contact", "name"), "body.contact.name"),
    (("contact", "alternative"), "body.contact.alternative"),
    (("consent", "script_version"), "body.consent.script_version"),
    (("consent", "recorded_by"), "body.consent.recorded_by"),
    (("needs", "groups", 0), "body.needs.groups.0"),
    (("language",), "body.language"),
    (("contact", "phone"), "body.contact.phone"),
]


@pytest.mark.parametrize("path, field", NUL_FIELDS, ids=[f for _, f in NUL_FIELDS])
def test_a_nul_in_a_handoff_string_is_422_and_writes_nothing(client, handoff_engine, path, field):
    body = handoff_body(name="Sam")
    body["contact"]["alternative"] = "front desk"
    body["consent"]["recorded_by"] = "badge-1"
    target = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = "a\u0000b"
    before = {t: _count(handoff_engine, t) for t in ("handoff", "handoff_event", "handoff_audit", "handoff_outbox")}
    headers = auth(Role.FIELD_WORKER)
    response = client.post("/v1/handoffs", json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert _fields(response) == [field]
    assert "\u0000" not in response.text and "a\\u0000b" not in response.text
    assert {t: _count(handoff_engine, t) for t in before} == before
    # The key was not spent: the same action, corrected, goes through with it.
    target[path[-1]] = {"needs.groups.0": "shelter", "language": "en", "contact.phone": "+1 416 555 0199"}.get(
        field.removeprefix("body."), "fixed"
    )
    assert client.post("/v1/handoffs", json=body, headers=headers).status_code == 201


def test_a_nul_in_a_utf16_json_body_is_422_and_writes_nothing(client, handoff_engine):
    """json.loads reads UTF-16 and UTF-32 too, and a byte scan for the escape cannot see it there."""
    before = _count(handoff_engine, "handoff")
    for encoding in ("utf-16", "utf-32"):
        body = json.dumps(handoff_body(note="a\u0000b")).encode(encoding)
        response = client.post(
            "/v1/handoffs", content=body, headers={**auth(Role.FIELD_WORKER), "Content-Type": "application/json"}
        )
        assert response.status_code == 422, (encoding, response.text)
        assert _fields(response) == ["body.needs.note"], encoding
    assert _count(handoff_engine, "handoff") == before


def test_a_nul_anywhere_in_a_json_body_is_422(client):
    created = create(client)
    cases = [
        ("/v1/handoffs", {"needs": {"groups": ["shelter"]}, "a\u0000": 1}, "body"),
        (f"/v1/handoffs/{created['id']}/transitions", {"status": "cancelled", "reason": "\u0000"}, "body.reason"),
        (f"/v1/navigator/handoffs/{created['id']}/notes", {"text": "called \u0000 back"}, "body.text"),
        (
            "/v1/offline/packs",
            {"bbox": [-79.4, 43.6, -79.3, 43.7], "min_zoom": 10, "max_zoom": 11, "categories": ["shelter", "\u0000"]},
            "body.categories.1",
        ),
    ]
    for path, body, field in cases:
        role_headers = navigator_auth() if "/navigator/" in path else auth(Role.FIELD_WORKER)
        response = client.post(
            path, content=json.dumps(body), headers={**role_headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 422, (path, response.text)
        assert _fields(response) == [field], path
    # Escaped backslashes are text, not an escape: "\\u0000" is six characters and fine.
    note = handoff_body(note="path C:\\u0000\\x")
    assert client.post("/v1/handoffs", json=note, headers=auth(Role.FIELD_WORKER)).status_code == 201
    # A lone UTF-16 surrogate cannot be stored either.
    response = client.post(
        "/v1/handoffs",
        content=json.dumps(handoff_body(note="\ud800")),
        headers={**auth(Role.FIELD_WORKER), "Content-Type": "application/json"},
    )
    assert response.status_code == 422 and _fields(response) == ["body.needs.note"], response.text
    # A valid surrogate pair (an emoji written as an escape) is fine.
    response = client.post(
        "/v1/handoffs",
        content=json.dumps(handoff_body(note="\U0001f600 ok")),
        headers={**auth(Role.FIELD_WORKER), "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert DEFAULT_CENTRE
