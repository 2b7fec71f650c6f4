"""POST /v1/handoffs on the real stack: the one tap, consent, routing to centres, validation,
and Idempotency-Key (replays, 422 on another body, 409 in flight, 50 concurrent taps)."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from service.auth.principal import Role
from service.handoffs.model import HandoffCreate
from service.platform.idempotency import request_material
from tests.support.handoffs import DEFAULT_CENTRE, EAST_CENTRE, HANDOFF_ENV, OTTAWA, RING, TORONTO, create, handoff_body
from tests.support.servers import start_server, stop_server
from tests.support.tokens import auth


def _count(engine, where: str = "true", **params) -> int:
    with engine.connect() as connection:
        return connection.execute(text(f"SELECT count(*) FROM handoff WHERE {where}"), params).scalar_one()


def _row(engine, handoff_id: str) -> dict:
    with engine.connect() as connection:
        return dict(
            connection.execute(text("SELECT * FROM handoff WHERE id = :id"), {"id": handoff_id}).mappings().one()
        )


# --- the one tap -------------------------------------------------------------------------------


def test_an_urgent_tap_answers_with_the_line_the_window_and_911(client, handoff_engine):
    response = client.post("/v1/handoffs", json=handoff_body(urgency="urgent"), headers=auth(Role.FIELD_WORKER))
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/v1/handoffs/{body['id']}"
    assert response.headers["cache-control"] == "no-store"
    uuid.UUID(body["id"])
    assert body["status"] == "requested" and body["urgency"] == "urgent"
    assert body["centre"]["id"] == DEFAULT_CENTRE and body["navigator_line"] == "tel:211;phone-context=+1"
    window = body["callback_window"]
    earliest, latest = datetime.fromisoformat(window["earliest"]), datetime.fromisoformat(window["latest"])
    assert latest - earliest == timedelta(hours=2)  # 211 Ontario: 24/7, urgent within 2 h
    assert (
        body["emergency"]["tel"] == "tel:911" and "911" in body["emergency"]["en"] and "911" in body["emergency"]["fr"]
    )
    assert body["contact"] == {"method": "phone", "phone_kept": True, "anonymous": False}
    assert body["location"] == {"precision": "cell"}
    assert "4165550199" not in response.text  # the answer holds no personal data
    row = _row(handoff_engine, body["id"])
    assert (
        row["status"] == "requested"
        and row["requesting_agency"] == "agency-a"
        and row["requested_by_subject"] == "worker-1"
    )
    assert row["h3_r7"] is not None and row["location_enc"] is None
    assert RING.decrypt(row["phone_enc"]) == "+14165550199"
    assert row["consent"]["recorded_by"] == "worker-1" and row["consent"]["scope"] == ["contact"]


def test_handoffs_go_to_the_centre_whose_area_holds_them_else_the_default(client):
    ottawa = create(client, handoff_body(location=OTTAWA))
    assert ottawa["centre"]["id"] == EAST_CENTRE and ottawa["navigator_line"] == "tel:+1-613-555-0100"
    # 211 East is open 08:00-20:00 on weekdays: the window lies in those hours.
    latest = datetime.fromisoformat(ottawa["callback_window"]["latest"])
    assert ottawa["callback_window"]["within_open_hours_h"] == 8
    assert latest > datetime.fromisoformat(ottawa["created_at"])
    assert create(client, handoff_body(location=TORONTO))["centre"]["id"] == DEFAULT_CENTRE
    assert create(client, handoff_body(location=None))["centre"]["id"] == DEFAULT_CENTRE
    # Outside every area (Vancouver): the default centre.
    assert create(client, handoff_body(location={"lat": 49.28, "lon": -123.12}))["centre"]["id"] == DEFAULT_CENTRE


def test_supervisors_may_create_too(client):
    assert create(client, role=Role.SUPERVISOR, subject="sup-1")["status"] == "requested"


# --- consent -----------------------------------------------------------------------------------


def test_without_consent_the_handoff_is_anonymous_and_keeps_no_phone(client, handoff_engine):
    body = create(client, handoff_body(consent_scope=(), name="Sam", phone="613 555 0177"))
    assert body["contact"] == {"method": "none", "phone_kept": False, "anonymous": True}
    assert body["callback_window"] is None and "211" in body["next_steps"]["en"]
    row = _row(handoff_engine, body["id"])
    assert (
        row["phone_enc"] is None and row["name_enc"] is None and row["contact_enc"] is None and row["consent"] is None
    )
    assert row["contact_method"] == "none"


def test_exact_location_needs_location_consent_and_a_visit(client, handoff_engine):
    cases = [
        ((("contact", "location")), True, "exact"),
        (("contact",), True, "cell"),
        (("contact", "location"), False, "cell"),
    ]
    for scope, must_attend, expected in cases:
        body = create(client, handoff_body(consent_scope=scope, must_attend=must_attend))
        assert body["location"]["precision"] == expected
        row = _row(handoff_engine, body["id"])
        assert (row["location_enc"] is not None) == (expected == "exact")
        assert row["h3_r7"] is not None


def test_do_not_contact_keeps_the_alternative_and_no_window(client, handoff_engine):
    body = create(
        client,
        handoff_body(
            phone=None, contact={"do_not_contact": True, "alternative": "through the drop-in worker, Tuesdays"}
        ),
    )
    assert body["contact"]["method"] == "do_not_contact" and body["callback_window"] is None
    row = _row(handoff_engine, body["id"])
    assert "Tuesdays" in RING.decrypt(row["contact_enc"])


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, field",
    [
        (handoff_body(phone="555-0199-00"), "contact.phone"),
        (handoff_body(needs=("bedrooms",)), "needs.groups"),
        (handoff_body(phone=None, contact={"do_not_contact": True}), "contact"),
        (
            handoff_body(phone=None, contact={"do_not_contact": True, "phone": "613 555 0123", "alternative": "x"}),
            "contact",
        ),
        (handoff_body(urgency="whenever"), "urgency"),
        (handoff_body(consent={"type": "verbal", "scopes": ["contact"], "script_version": "1"}), "consent"),
        (handoff_body(location={"lat": 95, "lon": 0}), "location.lat"),
        ({"urgency": "urgent"}, "needs"),
    ],
)
def test_bad_bodies_get_422_naming_the_field(client, handoff_engine, body, field):
    before = _count(handoff_engine)
    response = client.post("/v1/handoffs", json=body, headers=auth(Role.FIELD_WORKER))
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert any(field in error["field"] for error in response.json()["errors"]), response.text
    assert "555-0199-00" not in response.text and "613 555 0123" not in response.text
    assert _count(handoff_engine) == before


def test_a_post_without_idempotency_key_is_400(client, handoff_engine):
    before = _count(handoff_engine)
    response = client.post("/v1/handoffs", json=handoff_body(), headers=auth(Role.FIELD_WORKER, key=False))
    assert response.status_code == 400 and response.json()["type"].endswith("/idempotency-key-missing")
    bad = client.post("/v1/handoffs", json=handoff_body(), headers=auth(Role.FIELD_WORKER, key="two words"))
    assert bad.status_code == 400
    assert _count(handoff_engine) == before


# --- idempotency -------------------------------------------------------------------------------


def test_a_retry_replays_the_first_response(client, handoff_engine):
    key = str(uuid.uuid4())
    body = handoff_body(note=f"retry-{key}")
    first = client.post("/v1/handoffs", json=body, headers=auth(Role.FIELD_WORKER, key=key))
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    for _ in range(10):  # a phone retrying a queued tap ten times
        again = client.post("/v1/handoffs", json=body, headers=auth(Role.FIELD_WORKER, key=f'"{key}"'))
        assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json() and again.headers["location"] == first.headers["location"]
    assert _count(handoff_engine, "id = :id", id=first.json()["id"]) == 1
    with handoff_engine.connect() as connection:
        notes = [RING.decrypt(t) for t in connection.execute(text("SELECT note_enc FROM handoff")).scalars()]
        stored = connection.execute(
            text("SELECT response_body FROM handoff_idempotency WHERE idempotency_key = :k"), {"k": key}
        ).scalar_one()
    assert notes.count(f"retry-{key}") == 1
    assert "4165550199" not in stored and key not in stored.replace(first.json()["id"], "")  # no personal data stored


def test_the_same_key_with_another_body_is_422(client, handoff_engine):
    key = str(uuid.uuid4())
    first = client.post("/v1/handoffs", json=handoff_body(), headers=auth(Role.FIELD_WORKER, key=key))
    assert first.status_code == 201
    other = client.post("/v1/handoffs", json=handoff_body(urgency="urgent"), headers=auth(Role.FIELD_WORKER, key=key))
    assert other.status_code == 422 and other.json()["type"].endswith("/idempotency-key-reused")
    # ... and on another endpoint.
    elsewhere = client.post(
        f"/v1/handoffs/{first.json()['id']}/transitions",
        json={"status": "cancelled", "reason": "x"},
        headers=auth(Role.FIELD_WORKER, key=key),
    )
    assert elsewhere.status_code == 422 and elsewhere.json()["type"].endswith("/idempotency-key-reused")


def test_keys_are_scoped_to_the_caller(client):
    key = str(uuid.uuid4())
    mine = client.post("/v1/handoffs", json=handoff_body(), headers=auth(Role.FIELD_WORKER, subject="w-a", key=key))
    theirs = client.post("/v1/handoffs", json=handoff_body(), headers=auth(Role.FIELD_WORKER, subject="w-b", key=key))
    assert mine.status_code == theirs.status_code == 201 and mine.json()["id"] != theirs.json()["id"]


def test_a_retry_while_the_first_is_in_flight_gets_409_then_the_key_frees(client, handoff_engine):
    key = str(uuid.uuid4())
    body = handoff_body(note="in flight")
    material = request_material("POST", "/v1/handoffs", HandoffCreate.model_validate(body).model_dump(mode="json"))
    with handoff_engine.begin() as connection:  # as if another worker had just taken the key
        connection.execute(
            text("""
            INSERT INTO handoff_idempotency (principal_key, idempotency_key, request_hash, state, lock_token, expires_at)
            VALUES ('fieldnav|worker-1', :key, :hash, 'in_flight', :token, now() + interval '1 day')
        """),
            {"key": key, "hash": RING.request_hash(material), "token": uuid.uuid4()},
        )
    busy = client.post("/v1/handoffs", json=body, headers=auth(Role.FIELD_WORKER, key=key))
    assert busy.status_code == 409 and busy.headers["retry-after"] == "1"
    assert busy.json()["type"].endswith("/request-in-progress")
    # The request that held it died: after its lease the key may be taken over.
    with handoff_engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE handoff_idempotency SET started_at = now() - interval '2 minutes' WHERE idempotency_key = :key"
            ),
            {"key": key},
        )
    taken = client.post("/v1/handoffs", json=body, headers=auth(Role.FIELD_WORKER, key=key))
    assert taken.status_code == 201
    assert client.post("/v1/handoffs", json=body, headers=auth(Role.FIELD_WORKER, key=key)).json() == taken.json()


def test_a_failed_request_releases_its_key(client, handoff_database_url):
    key = str(uuid.uuid4())
    # A server whose default centre is not loaded refuses handoffs outside every area (503) ...
    misconfigured = start_server(
        handoff_database_url, env={**HANDOFF_ENV, "FIELDNAV_HANDOFF_DEFAULT_CENTRE": "211-nowhere"}
    )
    try:
        with misconfigured.client() as other:
            failed = other.post(
                "/v1/handoffs", json=handoff_body(location=None), headers=auth(Role.FIELD_WORKER, key=key)
            )
    finally:
        stop_server(misconfigured)
    assert failed.status_code == 503 and failed.json()["type"].endswith("/no-navigator-centre")
    # ... and the key is free again: the retry (on a good server) goes through.
    retried = client.post("/v1/handoffs", json=handoff_body(location=None), headers=auth(Role.FIELD_WORKER, key=key))
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers


def test_expired_keys_may_be_used_afresh(client, handoff_engine):
    key = str(uuid.uuid4())
    first = client.post("/v1/handoffs", json=handoff_body(), headers=auth(Role.FIELD_WORKER, key=key))
    with handoff_engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE handoff_idempotency SET expires_at = now() - interval '1 second' WHERE idempotency_key = :key"
            ),
            {"key": key},
        )
    again = client.post("/v1/handoffs", json=handoff_body(), headers=auth(Role.FIELD_WORKER, key=key))
    assert again.status_code == 201 and again.json()["id"] != first.json()["id"]


def test_fifty_concurrent_identical_taps_on_two_workers_make_one_handoff(handoff_database_url, handoff_engine):
    server = start_server(handoff_database_url, workers=2, env=HANDOFF_ENV)
    key = str(uuid.uuid4())
    note = f"concurrent-{key}"
    body = handoff_body(note=note, urgency="urgent")
    headers = auth(Role.FIELD_WORKER, subject="busy-worker", key=key)
    start = threading.Barrier(50)
    statuses: list[list[int]] = []

    def tap() -> httpx.Response:
        seen = []
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            start.wait()
            deadline = time.monotonic() + 60
            while True:
                response = http.post("/v1/handoffs", json=body, headers=headers)
                seen.append(response.status_code)
                # A phone retries what is worth retrying: in flight (409) or busy (503), same key.
                if response.status_code not in (409, 503) or time.monotonic() > deadline:
                    statuses.append(seen)
                    return response
                time.sleep(float(response.headers.get("retry-after", "1")) / 4)

    try:
        with ThreadPoolExecutor(max_workers=50) as pool:
            responses = list(pool.map(lambda _: tap(), range(50)))
    finally:
        stop_server(server)
    assert all(r.status_code == 201 for r in responses), sorted({r.status_code for r in responses})
    assert len({r.content for r in responses}) == 1  # every caller got the same answer
    assert sum(r.headers.get("idempotent-replayed") != "true" for r in responses) == 1
    with handoff_engine.connect() as connection:
        notes = [
            RING.decrypt(t)
            for t in connection.execute(
                text("SELECT note_enc FROM handoff WHERE requested_by_subject = 'busy-worker'")
            ).scalars()
        ]
        creates = connection.execute(
            text("SELECT count(*) FROM handoff_audit WHERE action = 'create' AND actor_subject = 'busy-worker'")
        ).scalar_one()
    assert notes == [note] and creates == 1
    # Retries that met the first request in flight got 409 and converged on the replay.
    assert all(seen[-1] == 201 and set(seen[:-1]) <= {409, 503} for seen in statuses)
