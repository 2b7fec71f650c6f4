"""Who sees which handoff and which fields: object-level rules across agencies and centres
(404, never 403), navigator notes hidden from referrers, the referrer's list, the queue."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import h3
from sqlalchemy import text

from service.auth.principal import Role
from service.handoffs.centres import load_centres
from tests.support.handoffs import EAST_CENTRE, OTTAWA, create, east_centre, handoff_body, navigator_auth, write_centres
from tests.support.tokens import auth

SECRET_NOTE = "NAVNOTE-door-code-4417"


def _ids(response) -> set[str]:
    assert response.status_code == 200, response.text
    return {h["id"] for h in response.json()["handoffs"]}


def test_agency_b_cannot_read_list_or_change_agency_a_handoffs(client):
    agency_a = f"agency-a-{uuid.uuid4().hex[:6]}"
    agency_b = f"agency-b-{uuid.uuid4().hex[:6]}"
    mine = create(client, handoff_body(location=OTTAWA), agency=agency_a, subject="alice")["id"]
    theirs = create(client, agency=agency_b, subject="bob")["id"]
    a_worker = {"role": Role.FIELD_WORKER, "agency": agency_a, "subject": "alice"}
    b_worker = {"role": Role.FIELD_WORKER, "agency": agency_b, "subject": "bob"}
    b_super = {"role": Role.SUPERVISOR, "agency": agency_b, "subject": "bob-boss"}

    # Read: 404 for anyone outside the rules, as for an id that does not exist.
    for who in (b_worker, b_super, {"role": Role.FIELD_WORKER, "agency": agency_a, "subject": "alice-colleague"}):
        response = client.get(f"/v1/handoffs/{mine}", headers=auth(**who))
        assert response.status_code == 404 and response.json()["detail"] == f"No handoff with id {mine}."
    missing = uuid.uuid4()
    assert (
        client.get(f"/v1/handoffs/{missing}", headers=auth(**b_worker)).json()["detail"]
        == f"No handoff with id {missing}."
    )
    assert client.get(f"/v1/handoffs/{mine}", headers=auth(**a_worker)).status_code == 200
    assert client.get(f"/v1/handoffs/{mine}", headers=auth(Role.SUPERVISOR, agency_a, "alice-boss")).status_code == 200

    # List: each sees their own.
    assert _ids(client.get("/v1/handoffs", headers=auth(**b_worker))) == {theirs}
    assert _ids(client.get("/v1/handoffs", headers=auth(**b_super))) == {theirs}
    assert _ids(client.get("/v1/handoffs", headers=auth(**a_worker))) == {mine}
    assert _ids(client.get("/v1/handoffs", headers=auth(Role.FIELD_WORKER, agency_a, "alice-colleague"))) == set()

    # Change: 404, and nothing changed.
    for who in (b_worker, b_super):
        response = client.post(
            f"/v1/handoffs/{mine}/transitions", json={"status": "cancelled", "reason": "x"}, headers=auth(**who)
        )
        assert response.status_code == 404
    assert client.get(f"/v1/handoffs/{mine}", headers=auth(**a_worker)).json()["status"] == "requested"

    # Navigators: their centre's handoffs only.
    assert client.get(f"/v1/navigator/handoffs/{mine}", headers=navigator_auth(centre="211-ontario")).status_code == 404
    assert client.get(f"/v1/navigator/handoffs/{mine}", headers=navigator_auth(centre=EAST_CENTRE)).status_code == 200
    for action, body in (("claim", {}), ("transitions", {"status": "accepted"}), ("notes", {"text": "hello"})):
        response = client.post(
            f"/v1/navigator/handoffs/{mine}/{action}", json=body, headers=navigator_auth(centre="211-ontario")
        )
        assert response.status_code == 404, (action, response.text)
    assert mine not in _ids(client.get("/v1/navigator/queue", headers=navigator_auth(centre="211-ontario")))
    assert mine in _ids(client.get("/v1/navigator/queue", headers=navigator_auth(centre=EAST_CENTRE)))
    # Referrer routes are not for navigators, navigator routes not for referrers, cases not for admins.
    assert client.get(f"/v1/handoffs/{mine}", headers=navigator_auth(centre=EAST_CENTRE)).status_code == 403
    assert client.get(f"/v1/navigator/handoffs/{mine}", headers=auth(**a_worker)).status_code == 403
    assert client.get(f"/v1/handoffs/{mine}", headers=auth(Role.ADMIN)).status_code == 403


def test_navigator_notes_and_personal_data_never_reach_the_referrer(client):
    body = handoff_body(
        location=OTTAWA,
        name="Jordan Q",
        phone="613 555 0142",
        note="REFNOTE-sleeps-by-the-canal",
        consent_scope=("contact", "location"),
        must_attend=True,
    )
    handoff_id = create(client, body, subject="note-worker")["id"]
    nav = navigator_auth("nav-e", centre=EAST_CENTRE)
    assert client.post(f"/v1/navigator/handoffs/{handoff_id}/claim", json={}, headers=nav).status_code == 200
    added = client.post(
        f"/v1/navigator/handoffs/{handoff_id}/notes",
        json={"text": SECRET_NOTE},
        headers=navigator_auth("nav-e", centre=EAST_CENTRE),
    )
    assert added.status_code == 201 and SECRET_NOTE not in added.text

    navigator = client.get(f"/v1/navigator/handoffs/{handoff_id}", headers=nav)
    assert navigator.status_code == 200
    view = navigator.json()
    assert [n["text"] for n in view["notes"]] == [SECRET_NOTE] and view["notes"][0]["author"] == "nav-e"
    assert view["contact"]["phone"] == "+16135550142" and view["contact"]["tel"] == "tel:+1-613-555-0142"
    assert view["person"]["name"] == "Jordan Q" and view["needs"]["note"] == "REFNOTE-sleeps-by-the-canal"
    assert view["location"]["precision"] == "exact" and abs(view["location"]["lat"] - OTTAWA["lat"]) < 1e-6

    referrer_headers = auth(Role.FIELD_WORKER, subject="note-worker")
    for response in (
        client.get(f"/v1/handoffs/{handoff_id}", headers=referrer_headers),
        client.get("/v1/handoffs", headers=referrer_headers),
        client.get("/v1/handoffs", headers=auth(Role.SUPERVISOR, subject="boss")),
    ):
        assert response.status_code == 200
        for secret in (SECRET_NOTE, "NAVNOTE", "5550142", "Jordan", "REFNOTE", "nav-e", str(OTTAWA["lat"])):
            assert secret not in response.text, secret
    detail = client.get(f"/v1/handoffs/{handoff_id}", headers=referrer_headers).json()
    assert (
        "notes" not in detail
        and "person" not in detail
        and detail["needs"] == {"groups": ["shelter"], "has_note": True}
    )
    assert detail["contact"]["method"] == "phone" and "phone" not in detail["contact"]
    # Nor do the queue and the webhook-free parts of the navigator side leak it wider.
    queue = client.get("/v1/navigator/queue", headers=nav)
    assert SECRET_NOTE not in queue.text and "5550142" not in queue.text


def test_the_referrer_list_pages_and_syncs_by_update_time(client, handoff_engine):
    subject = f"lister-{uuid.uuid4().hex[:6]}"
    ids = [create(client, subject=subject)["id"] for _ in range(5)]
    headers = auth(Role.FIELD_WORKER, subject=subject)
    first = client.get("/v1/handoffs", params={"limit": 2}, headers=headers).json()
    assert len(first["handoffs"]) == 2 and first["next_cursor"] and first["sync_from"] is None
    seen = [h["id"] for h in first["handoffs"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get("/v1/handoffs", params={"limit": 2, "cursor": cursor}, headers=headers).json()
        seen += [h["id"] for h in page["handoffs"]]
        cursor, sync_from = page["next_cursor"], page["sync_from"]
    assert seen == ids and sync_from is not None
    # Only what changed after a time: move one handoff, ask from just before the change.
    with handoff_engine.begin() as connection:
        connection.execute(
            text("UPDATE handoff SET updated_at = updated_at - interval '1 hour' WHERE id = ANY(:ids)"),
            {"ids": ids[:4]},
        )
    cut = datetime.fromisoformat(
        client.get(f"/v1/handoffs/{ids[4]}", headers=headers).json()["updated_at"]
    ) - timedelta(minutes=5)
    changed = client.get("/v1/handoffs", params={"updated_after": cut.isoformat()}, headers=headers)
    assert _ids(changed) == {ids[4]}
    naive = client.get("/v1/handoffs", params={"updated_after": "2026-01-01T00:00:00"}, headers=headers)
    assert naive.status_code == 422
    assert client.get("/v1/handoffs", params={"cursor": "garbage"}, headers=headers).status_code == 422


def test_the_queue_puts_urgent_first_then_oldest_and_filters(client, handoff_engine, tmp_path):
    centre = f"211-q{uuid.uuid4().hex[:6]}"
    box = [[-80.6, 43.3], [-80.3, 43.3], [-80.3, 43.6], [-80.6, 43.6], [-80.6, 43.3]]  # Kitchener-Waterloo
    load_centres(
        handoff_engine,
        write_centres(tmp_path / "q.json", east_centre(id=centre, area={"type": "Polygon", "coordinates": [box]})),
    )
    here = {"lat": 43.45, "lon": -80.49}
    there = {"lat": 43.35, "lon": -80.35}
    made = []
    for urgency, location, language in [
        ("routine", here, "en"),
        ("urgent", here, "fr"),
        ("routine", there, "fr"),
        ("urgent", there, "en"),
        ("routine", here, "en"),
    ]:
        made.append(create(client, handoff_body(urgency=urgency, location=location, language=language))["id"])
    with handoff_engine.begin() as connection:  # make creation order unambiguous
        for minutes, handoff_id in enumerate(made):
            connection.execute(
                text("UPDATE handoff SET created_at = now() - make_interval(mins => :m) WHERE id = :id"),
                {"m": 60 - minutes, "id": handoff_id},
            )
    nav = navigator_auth("nav-q", centre=centre)
    queue = client.get("/v1/navigator/queue", headers=nav).json()["handoffs"]
    assert [h["id"] for h in queue] == [made[1], made[3], made[0], made[2], made[4]]
    assert [h["urgency"] for h in queue] == ["urgent", "urgent", "routine", "routine", "routine"]
    assert "4165550199" not in str(queue) and "needs a bed" not in str(queue)  # no personal data in the queue

    def ids(**params) -> list[str]:
        response = client.get("/v1/navigator/queue", params=params, headers=nav)
        assert response.status_code == 200, response.text
        return [h["id"] for h in response.json()["handoffs"]]

    assert ids(urgency="urgent") == [made[1], made[3]]
    assert ids(language="fr") == [made[1], made[2]]
    region = h3.cell_to_parent(h3.latlng_to_cell(here["lat"], here["lon"], 7), 6)
    assert ids(region=region) == [made[1], made[0], made[4]]
    assert ids(region=h3.latlng_to_cell(there["lat"], there["lon"], 7)) == [made[3], made[2]]
    # Status filter: claim one, then ask for accepted only, and for closed ones.
    client.post(f"/v1/navigator/handoffs/{made[0]}/claim", json={}, headers=navigator_auth("nav-q", centre=centre))
    assert ids(status="accepted") == [made[0]]
    assert made[0] not in ids(status="requested")
    client.post(
        f"/v1/navigator/handoffs/{made[4]}/transitions",
        json={"status": "rejected", "reason": "dup"},
        headers=navigator_auth("nav-q", centre=centre),
    )
    assert made[4] not in ids() and ids(status="rejected,cancelled") == [made[4]]
    # Paging keeps the order.
    first = client.get("/v1/navigator/queue", params={"limit": 2}, headers=nav).json()
    rest = client.get("/v1/navigator/queue", params={"limit": 10, "cursor": first["next_cursor"]}, headers=nav).json()
    assert [h["id"] for h in first["handoffs"] + rest["handoffs"]] == [made[1], made[3], made[0], made[2]]
    for bad in (
        {"status": "lost"},
        {"region": "zz"},
        {"region": h3.latlng_to_cell(43.45, -80.49, 9)},
        {"urgency": "soon"},
    ):
        assert client.get("/v1/navigator/queue", params=bad, headers=nav).status_code == 422, bad
