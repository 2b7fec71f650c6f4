"""Webhooks to a navigator centre's own system, with a local receiver: delivery, retry after
a failure with backoff, HMAC signatures, no personal data, dead letters, concurrent workers
and the long-running worker woken by NOTIFY."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import create_engine, text

from service.auth.principal import Role
from service.handoffs.webhooks import verify_signature
from tests.support import PROJECT_ROOT
from tests.support.handoffs import (
    EAST_CENTRE,
    HANDOFF_ENV,
    OTTAWA,
    TORONTO,
    WEBHOOK_SECRET,
    WEBHOOK_SECRET_ENV,
    create,
    fieldnav,
    handoff_body,
    load_test_centres,
    navigator_auth,
    roles_env,
)
from tests.support.servers import free_port, start_server, stop_server
from tests.support.tokens import auth
from tests.support.webhooks import WORKER_ENV, Receiver


@pytest.fixture
def receiver():
    receiving = Receiver(statuses=[500])
    yield receiving
    receiving.close()


def _outbox(database_url: str) -> list[dict]:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM handoff_outbox ORDER BY id")).mappings().all()
    engine.dispose()
    return [dict(r) for r in rows]


def test_delivery_is_signed_retried_after_a_failure_and_carries_no_personal_data(database_url, tmp_path, receiver):
    load_test_centres(database_url, tmp_path, receiver.url)
    server = start_server(database_url, env=HANDOFF_ENV)
    try:
        with server.client() as http:
            created = create(
                http, handoff_body(location=OTTAWA, phone="613 555 0166", name="Robin Hood", note="CANARY-hook-note")
            )
            create(http, handoff_body(location=TORONTO))  # 211 Ontario has no webhook: no event
            handoff_id = created["id"]
            [event] = _outbox(database_url)
            assert (
                event["state"] == "pending"
                and event["event_type"] == "handoff.created"
                and event["centre_id"] == EAST_CENTRE
            )

            first = fieldnav(database_url, "worker", "--once", env=WORKER_ENV)
            assert first.returncode == 0, first.stderr
            assert "0 delivered, 1 to retry, 0 dead" in first.stdout
            [event] = _outbox(database_url)
            assert event["state"] == "pending" and event["attempts"] == 1 and event["last_error"] == "HTTP 500"
            assert len(receiver.requests) == 1
            # Backoff: the retry is due between half and all of the 2 s base later; not before.
            delay_s = (event["next_attempt_at"] - event["last_attempt_at"]).total_seconds()
            assert 1.0 <= delay_s <= 2.0, delay_s
            due_at = event["next_attempt_at"]
            early = fieldnav(database_url, "worker", "--once", env=WORKER_ENV)
            # On a busy machine the worker can take longer to start than the backoff: then this
            # run is the retry, and it must not have come before it was due.
            runs = [first, early]
            if "1 delivered" not in early.stdout:
                assert "0 delivered, 0 to retry" in early.stdout, early.stdout + early.stderr
                time.sleep(max(0.0, due_at.timestamp() - time.time()) + 0.1)
                second = fieldnav(database_url, "worker", "--once", env=WORKER_ENV)
                assert "1 delivered, 0 to retry, 0 dead" in second.stdout, second.stdout + second.stderr
                runs.append(second)
            [event] = _outbox(database_url)
            assert event["last_attempt_at"] >= due_at
            assert event["state"] == "delivered" and event["attempts"] == 2 and event["delivered_at"] is not None

            assert len(receiver.requests) == 2
            failed, delivered = receiver.requests
            assert failed["body"] == delivered["body"]  # the same bytes each attempt
            assert (
                failed["headers"]["Fieldnav-Event-Id"]
                == delivered["headers"]["Fieldnav-Event-Id"]
                == str(event["event_id"])
            )
            assert (
                failed["headers"]["Fieldnav-Delivery-Attempt"],
                delivered["headers"]["Fieldnav-Delivery-Attempt"],
            ) == ("1", "2")
            for request in (failed, delivered):
                header = request["headers"]["Fieldnav-Signature"]
                assert verify_signature(WEBHOOK_SECRET.encode(), header, request["body"])
                assert not verify_signature(b"another secret", header, request["body"])
                # What a receiver computes by hand: HMAC-SHA256(secret, f"{t}.{body}").
                t = header.split(",")[0].removeprefix("t=")
                expected = hmac.new(
                    WEBHOOK_SECRET.encode(), f"{t}.".encode() + request["body"], hashlib.sha256
                ).hexdigest()
                assert header == f"t={t},v1={expected}" and abs(int(t) - time.time()) < 60
            payload = json.loads(delivered["body"])
            assert payload["type"] == "handoff.created" and payload["id"] == str(event["event_id"])
            assert payload["handoff"]["id"] == handoff_id and payload["handoff"]["centre_id"] == EAST_CENTRE
            assert payload["handoff"]["status"] == "requested" and payload["handoff"]["needs"] == ["shelter"]
            assert payload["links"]["handoff"] == f"/v1/navigator/handoffs/{handoff_id}"
            for secret in ("6135550166", "555-0166", "Robin", "CANARY", str(OTTAWA["lat"])):
                assert secret.encode() not in delivered["body"]
            assert delivered["headers"]["Content-Type"] == "application/json"

            # A status change is an event too.
            http.post(
                f"/v1/navigator/handoffs/{handoff_id}/claim",
                json={},
                headers=navigator_auth("nav-w", centre=EAST_CENTRE),
            )
            assert "1 delivered" in fieldnav(database_url, "worker", "--once", env=WORKER_ENV).stdout
            changed = json.loads(receiver.requests[-1]["body"])
            assert changed["type"] == "handoff.status_changed" and changed["handoff"]["status"] == "accepted"
            assert changed["handoff"]["version"] == 2
            assert not any("CANARY" in run.stdout + run.stderr for run in runs)
    finally:
        stop_server(server)


def test_events_that_keep_failing_are_dead_lettered_and_visible_to_admins(database_url, tmp_path):
    closed_port = free_port()  # nothing listens there
    load_test_centres(database_url, tmp_path, f"http://127.0.0.1:{closed_port}/hook")
    server = start_server(database_url, env=HANDOFF_ENV)
    env = {**WORKER_ENV, "FIELDNAV_HANDOFF_WEBHOOK_MAX_ATTEMPTS": "2", "FIELDNAV_HANDOFF_WEBHOOK_BACKOFF_BASE_S": "0.1"}
    try:
        with server.client() as http:
            create(http, handoff_body(location=OTTAWA))
            assert "1 to retry" in fieldnav(database_url, "worker", "--once", env=env).stdout
            time.sleep(0.2)
            assert "1 dead" in fieldnav(database_url, "worker", "--once", env=env).stdout
            [event] = _outbox(database_url)
            assert event["state"] == "dead" and event["attempts"] == 2 and "Connection" in event["last_error"]
            dead = http.get(
                "/v1/admin/webhook-deliveries", params={"state": "dead"}, headers=auth(Role.ADMIN, subject="root")
            )
            assert dead.status_code == 200
            [listed] = dead.json()["deliveries"]
            assert (
                listed["event_id"] == str(event["event_id"]) and listed["state"] == "dead" and listed["attempts"] == 2
            )
            assert (
                http.get("/v1/admin/webhook-deliveries", headers=navigator_auth(centre=EAST_CENTRE)).status_code == 403
            )
            centres = http.get("/v1/admin/centres", headers=auth(Role.ADMIN)).json()["centres"]
            east = next(c for c in centres if c["id"] == EAST_CENTRE)
            assert east["has_webhook"] is True and "secret" not in json.dumps(east).lower().replace("has_webhook", "")

            requeued = fieldnav(database_url, "worker", "--requeue-dead", env=env)
            assert "re-queued 1 dead webhook events" in requeued.stdout
            [event] = _outbox(database_url)
            assert event["state"] == "pending" and event["attempts"] == 0
            # Without its secret the worker sends nothing unsigned: it records why and retries.
            no_secret = fieldnav(database_url, "worker", "--once", env={**env, WEBHOOK_SECRET_ENV: ""})
            assert "1 to retry" in no_secret.stdout
            assert (
                _outbox(database_url)[0]["last_error"] == f"secret not set (environment variable {WEBHOOK_SECRET_ENV})"
            )
    finally:
        stop_server(server)


def test_two_workers_deliver_each_event_once(database_url, tmp_path):
    receiving = Receiver(delay_s=0.05)
    load_test_centres(database_url, tmp_path, receiving.url)
    server = start_server(database_url, env=HANDOFF_ENV)
    try:
        with server.client() as http:
            for _ in range(20):
                create(http, handoff_body(location=OTTAWA))
        environment = {
            **os.environ,
            **roles_env(database_url),
            **HANDOFF_ENV,
            **WORKER_ENV,
            "FIELDNAV_HANDOFF_WORKER_BATCH_SIZE": "3",
        }
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "service.cli", "worker", "--once"],
                env=environment,
                cwd=PROJECT_ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [worker.communicate(timeout=120)[0] for worker in workers]
        delivered = [int(out.split(" delivered")[0].split()[-1]) for out in outputs]
        assert sum(delivered) == 20, outputs
        counts = Counter(r["headers"]["Fieldnav-Event-Id"] for r in receiving.requests)
        assert len(counts) == 20 and set(counts.values()) == {1}
        assert all(e["state"] == "delivered" for e in _outbox(database_url))
    finally:
        stop_server(server)
        receiving.close()


def test_the_long_running_worker_wakes_up_on_new_events_and_stops_cleanly(database_url, tmp_path):
    receiving = Receiver()
    load_test_centres(database_url, tmp_path, receiving.url)
    server = start_server(database_url, env=HANDOFF_ENV)
    environment = {
        **os.environ,
        **roles_env(database_url),
        **HANDOFF_ENV,
        **WORKER_ENV,
        "FIELDNAV_HANDOFF_WORKER_POLL_S": "30",
    }  # a NOTIFY must wake it, not the poll
    worker = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "worker"],
        env=environment,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        time.sleep(2)  # let it start listening
        with server.client() as http:
            handoff_id = create(http, handoff_body(location=OTTAWA))["id"]
        deadline = time.monotonic() + 10
        while not receiving.requests and time.monotonic() < deadline:
            time.sleep(0.1)
        assert receiving.requests and json.loads(receiving.requests[0]["body"])["handoff"]["id"] == handoff_id
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=40)
        stop_server(server)
        receiving.close()
    assert worker.returncode == 0 and "webhook worker stopped" in output, output
