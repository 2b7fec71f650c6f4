"""Handoff reference codes (``K7M-4QX``): issued at creation, unique, replayed unchanged, shown in
every view and in webhooks, and found by navigators of the handoff's own centre only."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from service.auth.principal import Principal, Role
from service.handoffs import commands
from service.handoffs import reference as references
from service.handoffs.model import HandoffCreate
from service.platform import migrate
from tests.support.handoffs import (
    DEFAULT_CENTRE,
    EAST_CENTRE,
    OTTAWA,
    RING,
    create,
    handoff_body,
    load_test_centres,
    navigator_auth,
)
from tests.support.tokens import auth

FORMAT = re.compile(r"^[23456789ABCDEFGHJKMNPQRSTVWXYZ]{3}-[23456789ABCDEFGHJKMNPQRSTVWXYZ]{3}$")
WORKER = Principal(subject="worker-1", agency="agency-a", role=Role.FIELD_WORKER, token_id="jti-1", issuer="fieldnav")


def _queue(client, centre: str = DEFAULT_CENTRE, **params) -> list[dict]:
    response = client.get("/v1/navigator/queue", params=params, headers=navigator_auth(centre=centre))
    assert response.status_code == 200, response.text
    return response.json()["handoffs"]


def test_codes_have_no_look_alikes_and_are_unique_over_hundreds_of_handoffs(client, handoff_engine):
    assert not set("01ILOU") & set(references.ALPHABET) and len(set(references.ALPHABET)) == 30
    assert all(FORMAT.match(references.new_reference()) for _ in range(2000))

    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(lambda _: create(client, handoff_body(urgency="routine")), range(300)))
    codes = [body["reference"] for body in created]
    assert all(FORMAT.match(code) for code in codes), codes[:5]
    assert len(set(codes)) == len(codes) == 300
    with handoff_engine.connect() as connection:
        stored = dict(
            connection.execute(
                text("SELECT id::text, reference FROM handoff WHERE id::text = ANY(:ids)"),
                {"ids": [b["id"] for b in created]},
            ).all()
        )
    assert stored == {body["id"]: body["reference"] for body in created}


def test_an_idempotent_replay_answers_with_the_same_reference(client):
    headers = auth(Role.FIELD_WORKER)
    first = client.post("/v1/handoffs", json=handoff_body(), headers=headers)
    again = client.post("/v1/handoffs", json=handoff_body(), headers=headers)
    assert first.status_code == again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["reference"] == first.json()["reference"] and FORMAT.match(first.json()["reference"])


def test_the_reference_is_in_every_view_and_in_webhooks(client, handoff_engine):
    with handoff_engine.begin() as connection:  # 211 East gets webhook events from here on
        connection.execute(
            text("UPDATE navigator_centre SET webhook_url = 'https://crm.211east.example/hook' WHERE id = :id"),
            {"id": EAST_CENTRE},
        )
    try:
        created = create(client, handoff_body(location=OTTAWA), subject="w-views")
        code, handoff_id = created["reference"], created["id"]
        worker = auth(Role.FIELD_WORKER, subject="w-views")
        listed = client.get("/v1/handoffs", headers=worker).json()["handoffs"]
        assert [h["reference"] for h in listed if h["id"] == handoff_id] == [code]
        assert client.get(f"/v1/handoffs/{handoff_id}", headers=worker).json()["reference"] == code
        assert [h["reference"] for h in _queue(client, EAST_CENTRE) if h["id"] == handoff_id] == [code]
        navigator = navigator_auth(centre=EAST_CENTRE)
        assert client.get(f"/v1/navigator/handoffs/{handoff_id}", headers=navigator).json()["reference"] == code
        claimed = client.post(f"/v1/navigator/handoffs/{handoff_id}/claim", json={}, headers=navigator)
        assert claimed.status_code == 200, claimed.text
        with handoff_engine.connect() as connection:
            events = connection.execute(
                text("SELECT event_type, body FROM handoff_outbox WHERE handoff_id = :id ORDER BY id"),
                {"id": handoff_id},
            ).all()
        assert [e.event_type for e in events] == ["handoff.created", "handoff.status_changed"]
        assert all(orjson.loads(e.body)["handoff"]["reference"] == code for e in events)
    finally:
        with handoff_engine.begin() as connection:
            connection.execute(
                text("UPDATE navigator_centre SET webhook_url = NULL WHERE id = :id"), {"id": EAST_CENTRE}
            )


def test_navigators_find_their_centres_handoff_by_reference_as_typed(client):
    created = create(client, handoff_body(), subject="w-lookup")
    code, handoff_id = created["reference"], created["id"]
    for typed in (code, code.lower(), code.replace("-", ""), code.replace("-", "").lower(), code.replace("-", " ")):
        assert [h["id"] for h in _queue(client, reference=typed)] == [handoff_id], typed
    # Another centre's navigators find nothing, exactly as for a code that does not exist.
    assert _queue(client, EAST_CENTRE, reference=code) == []
    assert _queue(client, reference="ZZZ-ZZZ" if code != "ZZZ-ZZZ" else "YYY-YYY") == []
    assert _queue(client, reference=code[:2] + "O" + code[3:]) == []  # a look-alike typed: no match, no error
    refused = client.get("/v1/navigator/queue", params={"reference": "AB-CD"}, headers=navigator_auth())
    assert refused.status_code == 422

    # A closed handoff is found too, unless a status filter says otherwise.
    cancelled = client.post(
        f"/v1/handoffs/{handoff_id}/transitions",
        json={"status": "cancelled", "reason": "found a bed"},
        headers=auth(Role.FIELD_WORKER, subject="w-lookup"),
    )
    assert cancelled.status_code == 200, cancelled.text
    assert [h["status"] for h in _queue(client, reference=code)] == ["cancelled"]
    assert _queue(client, reference=code, status="requested") == []


def create_directly(engine, monkeypatch) -> dict:
    """A handoff made by the write side itself, in this process (encrypted with the servers' key)."""
    monkeypatch.setattr(commands, "key_ring", lambda: RING)
    with engine.begin() as connection:
        return commands.create(connection, WORKER, HandoffCreate.model_validate(handoff_body()))


def test_a_code_drawn_twice_is_drawn_again(handoff_engine, monkeypatch):
    taken = create_directly(handoff_engine, monkeypatch)["reference"]
    fresh = next(code for code in iter(references.new_reference, None) if code != taken)
    draws = iter([taken, taken, fresh])
    monkeypatch.setattr(references, "new_reference", lambda: next(draws))
    assert create_directly(handoff_engine, monkeypatch)["reference"] == fresh
    assert next(draws, None) is None  # three draws: two collisions, then a free code


def test_the_migration_gives_existing_handoffs_a_reference(database_url, tmp_path, monkeypatch):
    load_test_centres(database_url, tmp_path)
    engine = create_engine(database_url)
    try:
        ids = [create_directly(engine, monkeypatch)["id"] for _ in range(25)]
        migrate.downgrade(database_url, "0010_auth_devices")  # as the handoffs were before references
        with engine.connect() as connection:
            columns = connection.execute(text("SELECT * FROM handoff LIMIT 0")).keys()
            assert "reference" not in columns
        migrate.upgrade(database_url)
        with engine.connect() as connection:
            codes = dict(connection.execute(text("SELECT id::text, reference FROM handoff")).all())
            nullable = connection.execute(
                text(
                    "SELECT is_nullable FROM information_schema.columns WHERE table_name = 'handoff' AND column_name = 'reference'"
                )
            ).scalar_one()
        assert (
            set(codes) == set(ids) and all(FORMAT.match(c) for c in codes.values()) and len(set(codes.values())) == 25
        )
        assert nullable == "NO"
        with pytest.raises(IntegrityError, match="handoff_reference_key"), engine.begin() as connection:
            connection.execute(text("UPDATE handoff SET reference = :code"), {"code": next(iter(codes.values()))})
    finally:
        engine.dispose()
