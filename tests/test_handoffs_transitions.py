"""The handoff state machine on the real stack: every (status, target, role) allowed or
refused as specified, reasons, history with who and when, claiming and taking over."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from service.auth.principal import Role
from service.handoffs import transitions
from tests.support.handoffs import create, navigator_auth, set_status
from tests.support.tokens import auth

STATUSES = [
    "requested",
    "accepted",
    "rejected",
    "in-progress",
    "on-hold",
    "completed",
    "failed",
    "cancelled",
    "entered-in-error",
]
FINAL = {"rejected", "completed", "failed", "cancelled", "entered-in-error"}

# The specification, written out independently of the code: (from, to) -> who may.
R, N = "requester", "navigator"
EXPECTED = {
    ("requested", "accepted"): N,
    ("requested", "rejected"): N,
    ("requested", "cancelled"): R,
    ("accepted", "in-progress"): N,
    ("accepted", "on-hold"): N,
    ("accepted", "failed"): N,
    ("accepted", "cancelled"): R,
    ("in-progress", "on-hold"): N,
    ("in-progress", "completed"): N,
    ("in-progress", "failed"): N,
    ("in-progress", "cancelled"): R,
    ("on-hold", "in-progress"): N,
    ("on-hold", "failed"): N,
    ("on-hold", "cancelled"): R,
    **{(status, "entered-in-error"): R for status in STATUSES if status != "entered-in-error"},
}
ROLE_SIDE = {"field_worker": R, "supervisor": R, "navigator": N}


def test_the_code_implements_the_specified_table():
    assert {(a.value, b.value): who.value for (a, b), who in transitions.TRANSITIONS.items()} == EXPECTED


def _attempt(client, role: str, handoff_id: str, target: str, reason: str | None = "a reason"):
    body = {"status": target, **({"reason": reason} if reason else {})}
    if role == "navigator":
        return client.post(f"/v1/navigator/handoffs/{handoff_id}/transitions", json=body, headers=navigator_auth())
    subject = "worker-1" if role == "field_worker" else "sup-1"
    return client.post(f"/v1/handoffs/{handoff_id}/transitions", json=body, headers=auth(Role(role), subject=subject))


def _state(engine, handoff_id: str) -> tuple[str, int, datetime | None]:
    with engine.connect() as connection:
        row = connection.execute(text("SELECT status, closed_at FROM handoff WHERE id = :id"), {"id": handoff_id}).one()
        events = connection.execute(
            text("SELECT count(*) FROM handoff_event WHERE handoff_id = :id"), {"id": handoff_id}
        ).scalar_one()
    return row.status, events, row.closed_at


@pytest.mark.parametrize("role", ["field_worker", "supervisor", "navigator"])
@pytest.mark.parametrize("target", STATUSES)
@pytest.mark.parametrize("current", STATUSES)
def test_every_transition_is_allowed_or_refused_as_specified(client, handoff_engine, current, target, role):
    handoff_id = create(client)["id"]
    set_status(handoff_engine, handoff_id, current)
    _, events_before, _ = _state(handoff_engine, handoff_id)
    started = datetime.now(UTC)
    response = _attempt(client, role, handoff_id, target)
    status, events_after, closed_at = _state(handoff_engine, handoff_id)
    who = EXPECTED.get((current, target))
    if who == ROLE_SIDE[role]:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == target and response.json()["previous_status"] == current
        assert status == target and events_after == events_before + 1
        assert (closed_at is not None) == (target in FINAL)
        with handoff_engine.connect() as connection:
            event = connection.execute(
                text("""
                SELECT from_status, to_status, actor_subject, actor_role, at FROM handoff_event
                WHERE handoff_id = :id ORDER BY id DESC LIMIT 1"""),
                {"id": handoff_id},
            ).one()
        assert (event.from_status, event.to_status, event.actor_role) == (current, target, role)
        assert event.actor_subject == {"field_worker": "worker-1", "supervisor": "sup-1", "navigator": "nav-1"}[role]
        assert started - timedelta(seconds=5) <= event.at <= datetime.now(UTC) + timedelta(seconds=5)
    else:
        expected = 409 if who is None else 403
        assert response.status_code == expected, f"{role} {current}->{target}: {response.status_code} {response.text}"
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith("/invalid-transition" if who is None else "/transition-forbidden")
        assert status == current and events_after == events_before


def test_admins_change_no_handoff(client):
    handoff_id = create(client)["id"]
    for url in (f"/v1/handoffs/{handoff_id}/transitions", f"/v1/navigator/handoffs/{handoff_id}/transitions"):
        response = client.post(
            url, json={"status": "cancelled", "reason": "x"}, headers=auth(Role.ADMIN, subject="root")
        )
        assert response.status_code == 403


@pytest.mark.parametrize(
    "current, target, role",
    [
        ("requested", "rejected", "navigator"),
        ("accepted", "on-hold", "navigator"),
        ("in-progress", "failed", "navigator"),
        ("requested", "cancelled", "field_worker"),
        ("on-hold", "cancelled", "supervisor"),
    ],
)
def test_reasons_are_required(client, handoff_engine, current, target, role):
    handoff_id = create(client)["id"]
    set_status(handoff_engine, handoff_id, current)
    for blank in (None, "   "):
        response = _attempt(client, role, handoff_id, target, reason=blank)
        assert response.status_code == 422 and response.json()["type"].endswith("/reason-required"), response.text
        assert _state(handoff_engine, handoff_id)[0] == current
    assert _attempt(client, role, handoff_id, target, reason="moved away").status_code == 200


def test_a_lifecycle_keeps_its_history_with_who_and_when(client):
    handoff_id = create(client)["id"]
    nav = lambda: navigator_auth("nav-7")  # noqa: E731
    assert (
        client.post(f"/v1/navigator/handoffs/{handoff_id}/claim", json={}, headers=nav()).json()["status"] == "accepted"
    )
    steps = [
        ("in-progress", None),
        ("on-hold", "waiting for an interpreter"),
        ("in-progress", None),
        ("completed", None),
    ]
    for target, reason in steps:
        body = {"status": target, **({"reason": reason} if reason else {})}
        response = client.post(f"/v1/navigator/handoffs/{handoff_id}/transitions", json=body, headers=nav())
        assert response.status_code == 200, response.text
    referrer = client.get(f"/v1/handoffs/{handoff_id}", headers=auth(Role.FIELD_WORKER)).json()
    history = referrer["history"]
    assert [h["status"] for h in history] == [
        "requested",
        "accepted",
        "in-progress",
        "on-hold",
        "in-progress",
        "completed",
    ]
    assert [h["from"] for h in history] == [None, "requested", "accepted", "in-progress", "on-hold", "in-progress"]
    assert history[0]["by"] == {"role": "field_worker", "agency": "agency-a"}
    assert all(h["by"] == {"role": "navigator", "agency": "211-ontario"} for h in history[1:])
    assert history[3]["reason"] == "waiting for an interpreter"
    times = [datetime.fromisoformat(h["at"]) for h in history]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)
    assert referrer["status"] == "completed" and referrer["closed_at"] is not None and referrer["version"] == 6
    navigator = client.get(f"/v1/navigator/handoffs/{handoff_id}", headers=nav()).json()
    assert navigator["history"][1]["by"]["subject"] == "nav-7" and navigator["history"][1]["owner"] == "nav-7"
    # Closed: nothing more but entered-in-error by the requester.
    again = client.post(
        f"/v1/navigator/handoffs/{handoff_id}/transitions", json={"status": "in-progress"}, headers=nav()
    )
    assert again.status_code == 409
    assert client.post(f"/v1/navigator/handoffs/{handoff_id}/claim", json={}, headers=nav()).status_code == 409


def test_claims_belong_to_one_navigator_until_taken_over(client, handoff_engine):
    handoff_id = create(client)["id"]
    first = client.post(f"/v1/navigator/handoffs/{handoff_id}/claim", headers=navigator_auth("nav-a"))
    assert first.status_code == 200 and first.json()["status"] == "accepted"
    again = client.post(f"/v1/navigator/handoffs/{handoff_id}/claim", json={}, headers=navigator_auth("nav-a"))
    assert again.status_code == 200 and again.json()["changed"] is False
    other = client.post(f"/v1/navigator/handoffs/{handoff_id}/claim", json={}, headers=navigator_auth("nav-b"))
    assert other.status_code == 409 and other.json()["type"].endswith("/claimed-by-another")
    move = client.post(
        f"/v1/navigator/handoffs/{handoff_id}/transitions",
        json={"status": "in-progress"},
        headers=navigator_auth("nav-b"),
    )
    assert move.status_code == 409 and move.json()["type"].endswith("/claimed-by-another")
    taken = client.post(
        f"/v1/navigator/handoffs/{handoff_id}/claim", json={"take_over": True}, headers=navigator_auth("nav-b")
    )
    assert taken.status_code == 200 and taken.json()["status"] == "accepted" and taken.json()["changed"] is True
    assert (
        client.post(
            f"/v1/navigator/handoffs/{handoff_id}/transitions",
            json={"status": "in-progress"},
            headers=navigator_auth("nav-a"),
        ).status_code
        == 409
    )
    assert (
        client.post(
            f"/v1/navigator/handoffs/{handoff_id}/transitions",
            json={"status": "in-progress"},
            headers=navigator_auth("nav-b"),
        ).status_code
        == 200
    )
    view = client.get(f"/v1/navigator/handoffs/{handoff_id}", headers=navigator_auth("nav-b")).json()
    assert view["owner"] == {"centre_id": "211-ontario", "navigator": "nav-b", "mine": True}
    owner_events = [h for h in view["history"] if h["type"] == "owner"]
    assert len(owner_events) == 1 and owner_events[0]["owner"] == "nav-b" and owner_events[0]["status"] == "accepted"
    # The referrer sees status changes only, not who holds it.
    referrer = client.get(f"/v1/handoffs/{handoff_id}", headers=auth(Role.FIELD_WORKER)).json()
    assert all(h["type"] == "status" for h in referrer["history"]) and "nav-b" not in str(referrer)


def test_transition_retries_replay_and_history_is_not_rewritten(client, handoff_engine):
    handoff_id = create(client)["id"]
    key = str(uuid.uuid4())
    headers = navigator_auth(key=key)
    first = client.post(
        f"/v1/navigator/handoffs/{handoff_id}/transitions",
        json={"status": "rejected", "reason": "out of area"},
        headers=headers,
    )
    second = client.post(
        f"/v1/navigator/handoffs/{handoff_id}/transitions",
        json={"status": "rejected", "reason": "out of area"},
        headers=headers,
    )
    assert first.status_code == second.status_code == 200 and first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true" and "out of area" not in second.text
    assert _state(handoff_engine, handoff_id)[1] == 2
    with handoff_engine.begin() as connection, pytest.raises(Exception, match="history is kept"):
        connection.execute(
            text("UPDATE handoff_event SET to_status = 'completed' WHERE handoff_id = :id"), {"id": handoff_id}
        )
    with handoff_engine.begin() as connection, pytest.raises(Exception, match="history is kept"):
        connection.execute(text("DELETE FROM handoff_event WHERE handoff_id = :id"), {"id": handoff_id})
