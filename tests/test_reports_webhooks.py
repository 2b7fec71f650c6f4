"""A field report reaches its 211 centre's own system through the signed webhook outbox
(`report.created`), retried after a failure by `fieldnav worker`, without its note; centres
without a webhook get nothing, and handoff events go out beside report events unchanged."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from sqlalchemy import create_engine, text

from service.auth.principal import Role
from service.handoffs.webhooks import verify_signature
from tests.support.handoffs import (
    DEFAULT_CENTRE,
    EAST_CENTRE,
    HANDOFF_ENV,
    OTTAWA,
    WEBHOOK_SECRET,
    create,
    fieldnav,
    handoff_body,
    load_test_centres,
    navigator_auth,
)
from tests.support.servers import start_server, stop_server
from tests.support.tokens import auth
from tests.support.webhooks import WORKER_ENV, Receiver


@pytest.fixture(scope="module")
def receiver():
    receiving = Receiver()
    yield receiving
    receiving.close()


@pytest.fixture(scope="module")
def hooks_url(demo_database_url, tmp_path_factory, receiver) -> str:
    """The demo directory; 211 East (the Ottawa area) has a webhook to ``receiver``, the
    Ontario default centre none."""
    load_test_centres(demo_database_url, tmp_path_factory.mktemp("centres"), receiver.url)
    return demo_database_url


@pytest.fixture(scope="module")
def engine(hooks_url):
    engine = create_engine(hooks_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def http(hooks_url):
    server = start_server(hooks_url, env=HANDOFF_ENV)
    try:
        with server.client() as client:
            yield client
    finally:
        output = stop_server(server)
        assert "Traceback" not in output, output[-4000:]


def _service_in(engine, centre_id: str) -> dict:
    """A public service whose (only) site lies in the centre's area and has no report yet."""
    with engine.connect() as connection:
        row = (
            connection.execute(
                text("""
            SELECT s.service_id, ST_Y(s.geom) AS lat, ST_X(s.geom) AS lon FROM service_site s
            CROSS JOIN LATERAL (SELECT id FROM navigator_centre WHERE ST_Covers(area, s.geom) ORDER BY area_km2 LIMIT 1) c
            WHERE c.id = :centre AND NOT s.is_private
              AND (SELECT count(*) FROM service_site o WHERE o.service_id = s.service_id) = 1
              AND NOT EXISTS (SELECT 1 FROM field_report r WHERE r.service_id = s.service_id)
            ORDER BY s.service_id LIMIT 1
        """),
                {"centre": centre_id},
            )
            .mappings()
            .one()
        )
    return dict(row)


def _report(http, site: dict, body: dict) -> dict:
    response = http.post(
        f"/v1/services/{site['service_id']}/reports",
        json=body,
        headers=auth(Role.FIELD_WORKER, "ottawa-paramedics", f"medic-{uuid.uuid4().hex[:6]}"),
    )
    assert response.status_code == 201, response.text
    return response.json()


def _events(engine, report_id: str) -> list[dict]:
    with engine.connect() as connection:
        return [
            dict(r)
            for r in connection.execute(
                text("SELECT * FROM handoff_outbox WHERE report_id = :id ORDER BY id"), {"id": report_id}
            ).mappings()
        ]


def _worker(database_url: str) -> str:
    run = fieldnav(database_url, "worker", "--once", env=WORKER_ENV)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_a_report_reaches_its_centre_signed_and_is_retried_after_a_failure(http, engine, hooks_url, receiver):
    receiver.requests.clear()
    receiver.statuses = [500]
    site = _service_in(engine, EAST_CENTRE)
    created = _report(
        http,
        site,
        {
            "kind": "wrong_phone",
            "note": "CANARY-report-note: ask for Robin",
            "location": {"lat": site["lat"], "lon": site["lon"]},
        },
    )
    [event] = _events(engine, created["id"])
    assert (event["event_type"], event["centre_id"], event["handoff_id"], event["state"]) == (
        "report.created",
        EAST_CENTRE,
        None,
        "pending",
    )

    assert "0 delivered, 1 to retry, 0 dead" in _worker(hooks_url)
    [event] = _events(engine, created["id"])
    assert event["attempts"] == 1 and event["last_error"] == "HTTP 500"
    # The retry is due after the backoff (between 1 and 2 s with a base of 2 s), not before.
    time.sleep(max(0.0, event["next_attempt_at"].timestamp() - time.time()) + 0.1)
    assert "1 delivered, 0 to retry, 0 dead" in _worker(hooks_url)
    [event] = _events(engine, created["id"])
    assert event["state"] == "delivered" and event["attempts"] == 2

    failed, delivered = receiver.requests
    assert failed["body"] == delivered["body"]  # the same bytes each attempt
    for request in (failed, delivered):
        assert verify_signature(WEBHOOK_SECRET.encode(), request["headers"]["Fieldnav-Signature"], request["body"])
        assert request["headers"]["Fieldnav-Event-Type"] == "report.created"
        assert request["headers"]["Fieldnav-Event-Id"] == str(event["event_id"])
    assert (failed["headers"]["Fieldnav-Delivery-Attempt"], delivered["headers"]["Fieldnav-Delivery-Attempt"]) == (
        "1",
        "2",
    )
    payload = json.loads(delivered["body"])
    assert payload["type"] == "report.created" and payload["id"] == str(event["event_id"])
    assert payload["occurred_at"] == payload["report"]["created_at"] == created["created_at"]
    report = payload["report"]
    assert (report["id"], report["kind"], report["status"], report["centre_id"], report["service_id"]) == (
        created["id"],
        "wrong_phone",
        "open",
        EAST_CENTRE,
        str(site["service_id"]),
    )
    assert report["service_name"] and report["has_note"] is True
    assert payload["links"] == {"report": f"/v1/admin/reports/{created['id']}"}
    for secret in (b"CANARY", b"Robin", f"{site['lat']:.4f}".encode(), b"medic-"):
        assert secret not in delivered["body"]

    # The centre follows the link with a navigator token; admins see the delivery.
    fetched = http.get(payload["links"]["report"], headers=navigator_auth(centre=EAST_CENTRE, key=False))
    assert fetched.status_code == 200 and fetched.json()["note"].startswith("CANARY")
    deliveries = http.get("/v1/admin/webhook-deliveries", headers=auth(Role.ADMIN, key=False)).json()["deliveries"]
    [listed] = [d for d in deliveries if d["event_id"] == str(event["event_id"])]
    assert listed["report_id"] == created["id"] and listed["handoff_id"] is None and listed["state"] == "delivered"


def test_only_centres_with_a_webhook_get_report_events_and_handoff_events_go_out_beside_them(
    http, engine, hooks_url, receiver
):
    receiver.requests.clear()
    receiver.statuses = []
    quiet = _report(http, _service_in(engine, DEFAULT_CENTRE), {"kind": "closed_today"})
    assert quiet["centre_id"] == DEFAULT_CENTRE and _events(engine, quiet["id"]) == []

    handoff = create(http, handoff_body(location=OTTAWA))
    loud = _report(http, _service_in(engine, EAST_CENTRE), {"kind": "full"})
    assert "2 delivered, 0 to retry, 0 dead" in _worker(hooks_url)
    received = {json.loads(r["body"])["type"]: json.loads(r["body"]) for r in receiver.requests}
    assert received["handoff.created"]["handoff"]["id"] == handoff["id"]
    assert (
        received["report.created"]["report"]["id"] == loud["id"]
        and received["report.created"]["report"]["has_note"] is False
    )
