"""Privacy on the real stack: encryption at rest, the append-only audit trail and its
export, purge after retention, key rotation, and no personal data in logs."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from service.auth.principal import Role
from service.handoffs.crypto import KeyRing, KeyRingError
from service.handoffs.stats import StatsQuery, handoff_counts
from tests.support.handoffs import (
    EAST_CENTRE,
    HANDOFF_ENV,
    OTTAWA,
    RING,
    TEST_KEY,
    create,
    fieldnav,
    handoff_body,
    load_test_centres,
    navigator_auth,
)
from tests.support.servers import start_server, stop_server
from tests.support.tokens import auth

PHONE_DIGITS = "6135550187"
NAME = "Zebulon Quartz"
NOTE = "CANARY-note-sleeps-behind-the-library"
NAV_NOTE = "CANARY-navnote-callback-after-5"
REASON = "CANARY-reason-moved-to-sister"
ALTERNATIVE = "CANARY-alternative-via-drop-in"


def _personal_body(**overrides) -> dict:
    return handoff_body(
        phone="613 555 0187",
        name=NAME,
        note=NOTE,
        location=OTTAWA,
        consent_scope=("contact", "location"),
        must_attend=True,
        **overrides,
    )


def _full_case(client) -> str:
    """A handoff with every kind of personal data: phone, name, note, exact location,
    contact details, a navigator note and a status reason."""
    body = _personal_body()
    body["contact"].update(safe_times=[{"days": ["mon", "tue"], "start": "09:00", "end": "12:00"}], voicemail_ok=True)
    handoff_id = create(client, body, subject="privacy-worker")["id"]
    nav = lambda: navigator_auth("nav-p", centre=EAST_CENTRE)  # noqa: E731
    assert client.post(f"/v1/navigator/handoffs/{handoff_id}/claim", json={}, headers=nav()).status_code == 200
    assert (
        client.post(f"/v1/navigator/handoffs/{handoff_id}/notes", json={"text": NAV_NOTE}, headers=nav()).status_code
        == 201
    )
    assert (
        client.post(
            f"/v1/navigator/handoffs/{handoff_id}/transitions",
            json={"status": "on-hold", "reason": REASON},
            headers=nav(),
        ).status_code
        == 200
    )
    return handoff_id


# --- encryption at rest ------------------------------------------------------------------------


def test_personal_data_is_encrypted_at_rest(client, handoff_engine):
    handoff_id = _full_case(client)
    plaintexts = [
        PHONE_DIGITS,
        "555-0187",
        "555 0187",
        NAME,
        "Zebulon",
        NOTE,
        NAV_NOTE,
        REASON,
        "09:00",
        str(OTTAWA["lat"]),
    ]
    with handoff_engine.connect() as connection:
        dumps = [
            connection.execute(text("SELECT h::text FROM handoff h WHERE id = :id"), {"id": handoff_id}).scalar_one(),
            *connection.execute(
                text("SELECT e::text FROM handoff_event e WHERE handoff_id = :id"), {"id": handoff_id}
            ).scalars(),
            *connection.execute(
                text("SELECT n::text FROM handoff_note n WHERE handoff_id = :id"), {"id": handoff_id}
            ).scalars(),
            *connection.execute(
                text("SELECT a::text FROM handoff_audit a WHERE handoff_id = :id"), {"id": handoff_id}
            ).scalars(),
            *connection.execute(text("SELECT i::text FROM handoff_idempotency i")).scalars(),
        ]
        row = connection.execute(text("SELECT * FROM handoff WHERE id = :id"), {"id": handoff_id}).mappings().one()
        note_enc = connection.execute(
            text("SELECT text_enc FROM handoff_note WHERE handoff_id = :id"), {"id": handoff_id}
        ).scalar_one()
        reason_enc = connection.execute(
            text("SELECT reason_enc FROM handoff_event WHERE handoff_id = :id AND reason_enc IS NOT NULL"),
            {"id": handoff_id},
        ).scalar_one()
    for dump in dumps:
        for plaintext in plaintexts:
            assert plaintext not in dump, plaintext
    for column in ("phone_enc", "name_enc", "note_enc", "contact_enc", "location_enc"):
        raw = bytes(row[column])
        assert raw.startswith(b"gAAAAA"), column  # a Fernet token
        assert PHONE_DIGITS.encode() not in raw and b"Zebulon" not in raw and b"CANARY" not in raw
    # ... and the key decrypts them back.
    assert RING.decrypt(row["phone_enc"]) == "+1" + PHONE_DIGITS and RING.decrypt(row["name_enc"]) == NAME
    assert (
        RING.decrypt(row["note_enc"]) == NOTE and json.loads(RING.decrypt(row["location_enc"]))["lat"] == OTTAWA["lat"]
    )
    assert json.loads(RING.decrypt(row["contact_enc"]))["voicemail_ok"] is True
    assert RING.decrypt(note_enc) == NAV_NOTE and RING.decrypt(reason_enc) == REASON
    with pytest.raises(KeyRingError):
        KeyRing([Fernet.generate_key()]).decrypt(row["phone_enc"])


# --- the audit trail ---------------------------------------------------------------------------


def test_every_read_and_change_is_audited(client, handoff_engine):
    subject = f"audited-{uuid.uuid4().hex[:6]}"
    other = create(client, handoff_body(location=OTTAWA), subject=subject)["id"]
    handoff_id = create(client, handoff_body(location=OTTAWA, note=NOTE), subject=subject)["id"]
    worker = lambda: auth(Role.FIELD_WORKER, subject=subject)  # noqa: E731
    nav = lambda: navigator_auth("nav-audit", centre=EAST_CENTRE)  # noqa: E731
    client.get(f"/v1/handoffs/{handoff_id}", headers=worker())
    client.get("/v1/handoffs", headers=worker())
    queue = client.get("/v1/navigator/queue", headers=nav()).json()["handoffs"]
    client.post(f"/v1/navigator/handoffs/{handoff_id}/claim", json={}, headers=nav())
    client.post(f"/v1/navigator/handoffs/{handoff_id}/notes", json={"text": NAV_NOTE}, headers=nav())
    client.get(f"/v1/navigator/handoffs/{handoff_id}", headers=nav())
    client.post(f"/v1/navigator/handoffs/{handoff_id}/transitions", json={"status": "in-progress"}, headers=nav())
    client.post(
        f"/v1/handoffs/{handoff_id}/transitions", json={"status": "cancelled", "reason": REASON}, headers=worker()
    )

    with handoff_engine.connect() as connection:
        rows = (
            connection.execute(
                text("""
            SELECT action, actor_subject, actor_role, actor_agency, fields, purpose, at FROM handoff_audit
            WHERE handoff_id = :id ORDER BY id"""),
                {"id": handoff_id},
            )
            .mappings()
            .all()
        )
        queue_entries = connection.execute(
            text("""
            SELECT count(*) FROM handoff_audit WHERE action = 'queue' AND actor_subject = 'nav-audit'""")
        ).scalar_one()
        list_entries = (
            connection.execute(
                text("""
            SELECT handoff_id FROM handoff_audit WHERE action = 'list' AND actor_subject = :s"""),
                {"s": subject},
            )
            .scalars()
            .all()
        )
    actions = [(r["action"], r["actor_subject"]) for r in rows]
    assert actions == [
        ("create", subject),
        ("read", subject),
        ("list", subject),
        ("queue", "nav-audit"),
        ("claim", "nav-audit"),
        ("note", "nav-audit"),
        ("read", "nav-audit"),
        ("transition", "nav-audit"),
        ("transition", subject),
    ]
    assert set(rows[0]["fields"]) == {"phone", "note"}  # what the create stored
    assert "phone" not in rows[1]["fields"] and "history" in rows[1]["fields"]  # the referrer saw no phone
    navigator_read = rows[6]["fields"]
    assert {"phone", "note", "navigator_notes"} <= set(navigator_read)
    assert rows[8]["fields"] == ["status", "reason"] and all(r["purpose"] for r in rows)
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)
    # One entry per handoff shown by a list or the queue.
    assert sorted(map(str, list_entries)) == sorted([other, handoff_id])
    assert queue_entries == len(queue)


def test_the_audit_log_is_append_only(handoff_engine, client):
    create(client)
    for statement in (
        "UPDATE handoff_audit SET purpose = 'nothing to see'",
        "DELETE FROM handoff_audit",
        "TRUNCATE handoff_audit",
    ):
        with handoff_engine.begin() as connection, pytest.raises(Exception, match="append-only"):
            connection.execute(text(statement))


def test_admins_export_the_audit_log(client, handoff_database_url, handoff_engine, tmp_path):
    create(client)
    with handoff_engine.connect() as connection:
        total = connection.execute(text("SELECT count(*) FROM handoff_audit")).scalar_one()
    since = (date.today() - timedelta(days=1)).isoformat()
    as_csv = fieldnav(handoff_database_url, "audit", "export", "--since", since, "--out", str(tmp_path / "audit.csv"))
    assert as_csv.returncode == 0, as_csv.stderr
    assert f"exported {total} audit entries" in as_csv.stdout
    with open(tmp_path / "audit.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == total and {"actor_subject", "action", "handoff_id", "fields", "purpose", "at"} <= set(rows[0])
    as_jsonl = fieldnav(handoff_database_url, "audit", "export", "--out", str(tmp_path / "audit.jsonl"))
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert as_jsonl.returncode == 0 and len(lines) == total + 1  # the first export was itself audited
    assert lines[-1]["action"] == "audit-export" and lines[-1]["actor_role"] == "system:audit-export"
    future = fieldnav(
        handoff_database_url, "audit", "export", "--since", "2999-01-01", "--out", str(tmp_path / "none.csv")
    )
    assert "exported 0 audit entries" in future.stdout
    # The same through the API, for admins only.
    page = client.get("/v1/audit", params={"limit": 5}, headers=auth(Role.ADMIN, subject="root"))
    assert (
        page.status_code == 200
        and len(page.json()["entries"]) == 5
        and page.json()["next_after_id"] == page.json()["entries"][-1]["id"]
    )
    following = client.get(
        "/v1/audit", params={"limit": 5, "after_id": page.json()["next_after_id"]}, headers=auth(Role.ADMIN)
    )
    assert following.json()["entries"][0]["id"] > page.json()["next_after_id"]
    assert client.get("/v1/audit", headers=auth(Role.SUPERVISOR)).status_code == 403


# --- purge -------------------------------------------------------------------------------------


def test_purge_removes_personal_data_after_retention_and_keeps_statistics(client, handoff_database_url, handoff_engine):
    old_closed = _full_case(client)
    client.post(
        f"/v1/handoffs/{old_closed}/transitions",
        json={"status": "cancelled", "reason": REASON},
        headers=auth(Role.FIELD_WORKER, subject="privacy-worker"),
    )
    recent_closed = create(client, _personal_body())["id"]
    client.post(
        f"/v1/handoffs/{recent_closed}/transitions",
        json={"status": "cancelled", "reason": "changed mind"},
        headers=auth(Role.FIELD_WORKER),
    )
    old_open = create(client, _personal_body())["id"]
    stale_key = str(uuid.uuid4())
    with handoff_engine.begin() as connection:
        connection.execute(
            text("UPDATE handoff SET closed_at = now() - interval '31 days' WHERE id = :id"), {"id": old_closed}
        )
        connection.execute(
            text("UPDATE handoff SET created_at = now() - interval '90 days' WHERE id = :id"), {"id": old_open}
        )
        connection.execute(
            text("""
            INSERT INTO handoff_idempotency (principal_key, idempotency_key, request_hash, state, lock_token, expires_at)
            VALUES ('fieldnav|someone', :key, '\\x00', 'done', :token, now() - interval '1 hour')
        """),
            {"key": stale_key, "token": uuid.uuid4()},
        )
        connection.execute(
            text("""
            INSERT INTO handoff_outbox (event_id, event_type, handoff_id, centre_id, body, state, delivered_at)
            VALUES (:event, 'handoff.created', :handoff, '211-east', '{}', 'delivered', now() - interval '40 days')
        """),
            {"event": uuid.uuid4(), "handoff": old_closed},
        )
        # As of next week (only finished weeks are counted), when this week's handoffs are.
        before = handoff_counts(
            connection,
            StatsQuery(since=date.today() - timedelta(days=30), until=date.today() + timedelta(days=7)),
            k=1,
            as_of=datetime.now(UTC) + timedelta(days=8),
        )

    dry = fieldnav(handoff_database_url, "purge", "--dry-run")
    assert (
        dry.returncode == 0
        and "would purge personal data of 1 handoffs (1 navigator notes, 2 status reasons)" in dry.stdout
    )
    with handoff_engine.connect() as connection:
        assert (
            connection.execute(text("SELECT purged_at FROM handoff WHERE id = :id"), {"id": old_closed}).scalar_one()
            is None
        )

    result = fieldnav(handoff_database_url, "purge")
    assert result.returncode == 0, result.stderr
    assert "purged personal data of 1 handoffs (1 navigator notes, 2 status reasons)" in result.stdout
    assert "deleted 1 expired idempotency keys and 1 delivered webhook events" in result.stdout
    with handoff_engine.connect() as connection:
        purged = connection.execute(text("SELECT * FROM handoff WHERE id = :id"), {"id": old_closed}).mappings().one()
        kept = connection.execute(
            text("SELECT phone_enc, purged_at FROM handoff WHERE id = ANY(:ids)"), {"ids": [recent_closed, old_open]}
        ).all()
        notes = connection.execute(
            text("SELECT count(*) FROM handoff_note WHERE handoff_id = :id"), {"id": old_closed}
        ).scalar_one()
        reasons = connection.execute(
            text("SELECT count(*) FROM handoff_event WHERE handoff_id = :id AND reason_enc IS NOT NULL"),
            {"id": old_closed},
        ).scalar_one()
        events = connection.execute(
            text("SELECT count(*) FROM handoff_event WHERE handoff_id = :id"), {"id": old_closed}
        ).scalar_one()
        audit = connection.execute(
            text("SELECT actor_role, fields FROM handoff_audit WHERE handoff_id = :id AND action = 'purge'"),
            {"id": old_closed},
        ).one()
        keys = connection.execute(
            text("SELECT count(*) FROM handoff_idempotency WHERE idempotency_key = :k"), {"k": stale_key}
        ).scalar_one()
        after = handoff_counts(
            connection,
            StatsQuery(since=date.today() - timedelta(days=30), until=date.today() + timedelta(days=7)),
            k=1,
            as_of=datetime.now(UTC) + timedelta(days=8),
        )
    for column in ("phone_enc", "name_enc", "note_enc", "contact_enc", "location_enc"):
        assert purged[column] is None, column
    assert purged["purged_at"] is not None and purged["location_precision"] == "cell"
    assert purged["h3_r7"] is not None and purged["needs"] == ["shelter"] and purged["urgency"] == "routine"
    assert purged["status"] == "cancelled" and purged["centre_id"] == EAST_CENTRE and purged["created_week"] is not None
    assert notes == 0 and reasons == 0 and events == 4  # the history stays, without its reasons
    assert all(phone is not None and purged_at is None for phone, purged_at in kept)
    assert audit.actor_role == "system:purge" and "phone" in audit.fields and keys == 0
    assert before["groups"] and after == before  # statistics count the purged handoff as before

    referrer = client.get(
        f"/v1/handoffs/{old_closed}", headers=auth(Role.FIELD_WORKER, subject="privacy-worker")
    ).json()
    assert referrer["purged"] is True and all(h["reason"] is None for h in referrer["history"])
    navigator = client.get(
        f"/v1/navigator/handoffs/{old_closed}", headers=navigator_auth("nav-p", centre=EAST_CENTRE)
    ).json()
    assert navigator["contact"]["phone"] is None and navigator["person"]["name"] is None and navigator["notes"] == []
    assert navigator["needs"]["note"] is None and navigator["location"]["lat"] is None
    again = client.post(
        f"/v1/navigator/handoffs/{old_closed}/notes",
        json={"text": "late"},
        headers=navigator_auth("nav-p", centre=EAST_CENTRE),
    )
    assert again.status_code == 409
    assert "purged personal data of 0 handoffs" in fieldnav(handoff_database_url, "purge").stdout


# --- key rotation ------------------------------------------------------------------------------


def test_keys_rotate_without_losing_data(database_url, tmp_path):
    load_test_centres(database_url, tmp_path)
    old_key, new_key = TEST_KEY, Fernet.generate_key().decode()
    server = start_server(database_url, env=HANDOFF_ENV)
    try:
        with server.client() as http:
            handoff_id = _full_case(http)
    finally:
        stop_server(server)
    rotated = fieldnav(
        database_url,
        "handoffs",
        "rotate-keys",
        "--batch-size",
        "2",
        env={"FIELDNAV_HANDOFF_KEYS": f"{new_key},{old_key}"},
    )
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted 7 values with the active key; 0 were already on it" in rotated.stdout  # 5 + note + reason
    assert "may now be removed" in rotated.stdout
    engine = create_engine(database_url)
    new_only = KeyRing([new_key.encode()])
    with engine.connect() as connection:
        phone = connection.execute(
            text("SELECT phone_enc FROM handoff WHERE id = :id"), {"id": handoff_id}
        ).scalar_one()
        assert new_only.decrypt(phone) == "+1" + PHONE_DIGITS
        audit = connection.execute(text("SELECT detail FROM handoff_audit WHERE action = 'rotate-keys'")).scalar_one()
    engine.dispose()
    assert audit["rotated"] == 7
    again = fieldnav(database_url, "handoffs", "rotate-keys", env={"FIELDNAV_HANDOFF_KEYS": f"{new_key},{old_key}"})
    assert "re-encrypted 0 values with the active key; 7 were already on it" in again.stdout
    # The old key is gone: the API still reads everything.
    server = start_server(database_url, env={**HANDOFF_ENV, "FIELDNAV_HANDOFF_KEYS": new_key})
    try:
        with server.client() as http:
            view = http.get(
                f"/v1/navigator/handoffs/{handoff_id}", headers=navigator_auth("nav-p", centre=EAST_CENTRE)
            ).json()
    finally:
        stop_server(server)
    assert view["contact"]["phone"] == "+1" + PHONE_DIGITS and view["notes"][0]["text"] == NAV_NOTE
    assert view["history"][-1]["reason"] == REASON
    assert fieldnav(database_url, "handoffs", "generate-key").stdout.strip().encode() != new_key.encode()


# --- logs --------------------------------------------------------------------------------------


def test_no_personal_data_in_the_logs(handoff_database_url):
    server = start_server(handoff_database_url, env=HANDOFF_ENV)
    try:
        with server.client() as http:
            handoff_id = _full_case(http)
            body = _personal_body()
            body["contact"] = {"do_not_contact": True, "alternative": ALTERNATIVE}
            create(http, body)
            bad_phone = _personal_body()
            bad_phone["contact"]["phone"] = "613 555 01877 999"
            assert http.post("/v1/handoffs", json=bad_phone, headers=auth(Role.FIELD_WORKER)).status_code == 422
            http.get(f"/v1/handoffs/{handoff_id}", headers=auth(Role.FIELD_WORKER, subject="privacy-worker"))
            http.get("/v1/handoffs", headers=auth(Role.SUPERVISOR))
            http.get(f"/v1/navigator/handoffs/{handoff_id}", headers=navigator_auth("nav-p", centre=EAST_CENTRE))
            http.get("/v1/navigator/queue", headers=navigator_auth("nav-p", centre=EAST_CENTRE))
            http.post(
                f"/v1/handoffs/{handoff_id}/transitions",
                json={"status": "cancelled", "reason": REASON},
                headers=auth(Role.FIELD_WORKER, subject="privacy-worker"),
            )
    finally:
        output = stop_server(server)
    assert "Application startup complete" in output  # the log was captured
    assert handoff_id in output  # ids and statuses are logged ...
    for secret in (
        PHONE_DIGITS,
        "555-0187",
        "555 0187",
        "01877",
        NAME,
        "Zebulon",
        NOTE,
        NAV_NOTE,
        REASON,
        ALTERNATIVE,
        "CANARY",
        str(OTTAWA["lat"]),
    ):
        assert secret not in output, f"{secret!r} appeared in the server log"  # ... personal data never
