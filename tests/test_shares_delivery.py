"""Shares' SMS and emails (issue 20), on the real stack: `fieldnav serve` makes the share,
`fieldnav worker --once` (a subprocess, as in production) sends it to a real SMTP server
(aiosmtpd) or to an SMS provider's HTTP API on 127.0.0.1 (tests/support/sms_receiver.py).

Delivery with its retry after a failure, exactly once, a dead letter on a permanent refusal
and its re-queue, the recipient cleared once delivered and purged after the retention time,
key rotation of recipients, the audit of each outcome, and expired shares removed.
"""

from __future__ import annotations

import uuid

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from service.auth.principal import Role
from service.handoffs.crypto import KeyRingError
from tests.support.handoffs import HANDOFF_ENV, RING, TEST_KEY, fieldnav
from tests.support.servers import start_server, stop_server
from tests.support.sms_receiver import ACCOUNT, SENDER, TOKEN, SmsReceiver
from tests.support.smtp_server import SmtpServer
from tests.support.tokens import auth

# Retries come back at once in these tests.
FAST_RETRY = {"FIELDNAV_SHARES_BACKOFF_BASE_S": "0.01", "FIELDNAV_SHARES_BACKOFF_MAX_S": "0.02"}


@pytest.fixture(scope="module")
def sms():
    with SmsReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def worker_env(sms, smtp) -> dict:
    return {**sms.env, **smtp.env, **FAST_RETRY}


@pytest.fixture(scope="module")
def engine(demo_database_url):
    engine = create_engine(demo_database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def http(demo_database_url, worker_env):
    server = start_server(demo_database_url, env={**HANDOFF_ENV, **worker_env})
    with server.client() as client:
        yield client
    output = stop_server(server)
    assert "Traceback" not in output, output[-4000:]


@pytest.fixture(scope="module")
def site_keys(engine) -> list[int]:
    with engine.connect() as connection:
        return (
            connection.execute(text("SELECT site_key FROM service_site WHERE NOT is_private ORDER BY site_key LIMIT 3"))
            .scalars()
            .all()
        )


def _share(http, site_keys, delivery: str, recipient: str, language: str = "en") -> dict:
    body = {
        "services": [{"site_key": key} for key in site_keys],
        "language": language,
        "delivery": delivery,
        "recipient": recipient,
    }
    answer = http.post("/v1/shares", json=body, headers=auth(Role.FIELD_WORKER, subject=f"w-{uuid.uuid4().hex[:8]}"))
    assert answer.status_code == 201, answer.text
    return answer.json()


def _worker(database_url: str, env: dict, *args: str) -> str:
    done = fieldnav(database_url, "worker", *args, env=env)
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    return output


def _message(engine, share_id: str):
    with engine.connect() as connection:
        return (
            connection.execute(text("SELECT * FROM share_outbox WHERE share_id = :id"), {"id": share_id})
            .mappings()
            .one()
        )


def _audit(engine, share_id: str) -> list[str]:
    with engine.connect() as connection:
        return (
            connection.execute(
                text("SELECT action FROM handoff_audit WHERE detail->>'share_id' = :id ORDER BY id"), {"id": share_id}
            )
            .scalars()
            .all()
        )


def test_an_email_reaches_a_real_smtp_server(http, engine, demo_database_url, worker_env, smtp, site_keys):
    created = _share(http, site_keys, "email", "person@example.org", language="fr")
    output = _worker(demo_database_url, worker_env, "--once")
    assert "share messages: 1 delivered" in output
    assert "person@example.org" not in output  # the worker's logs never name the recipient
    message = smtp.messages[-1]
    assert smtp.envelopes[-1]["to"] == ["person@example.org"]
    assert message["To"] == "person@example.org" and message["From"] == smtp.env["FIELDNAV_SMTP_FROM"]
    assert message["Subject"] == "Les services dont nous avons parlé"
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_content()
    assert created["url"] in body and "2-1-1" in body and "Voici la liste" in body
    row = _message(engine, created["id"])
    assert row["state"] == "delivered" and row["attempts"] == 1
    assert row["recipient_enc"] is None and row["recipient_purged_at"] is not None  # cleared once delivered
    assert _audit(engine, created["id"]) == ["share-create", "share-delivered"]
    # Run again: nothing goes twice.
    count = len(smtp.messages)
    assert "share messages: 0 delivered" in _worker(demo_database_url, worker_env, "--once")
    assert len(smtp.messages) == count


def test_an_sms_is_retried_after_a_failure_and_sent_once(http, engine, demo_database_url, worker_env, sms, site_keys):
    created = _share(http, site_keys, "sms", "(416) 555-0123")
    sms.fail_next(1)
    requests_before = sms.requests
    output = _worker(demo_database_url, worker_env, "--once")
    # The failed attempt was retried in the same run (the backoff here is 10 ms) or is due now.
    row = _message(engine, created["id"])
    if row["state"] == "pending":
        assert row["last_error"] == "HTTP 503" and row["recipient_enc"] is not None
        output = _worker(demo_database_url, worker_env, "--once")
    row = _message(engine, created["id"])
    assert row["state"] == "delivered" and row["attempts"] == 2, (row, output)
    assert sms.requests - requests_before == 2
    sent = [m for m in sms.messages if created["url"] in m["Body"]]
    assert len(sent) == 1
    assert sent[0]["To"] == "+14165550123" and sent[0]["From"] == SENDER  # E.164
    assert sent[0]["path"] == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert sent[0]["credentials"] == f"{ACCOUNT}:{TOKEN}"
    assert sent[0]["Body"] == created["text"] and len(sent[0]["Body"]) <= 160  # one segment
    assert row["recipient_enc"] is None
    _worker(demo_database_url, worker_env, "--once")
    assert len([m for m in sms.messages if created["url"] in m["Body"]]) == 1  # exactly once
    assert _audit(engine, created["id"]) == ["share-create", "share-delivered"]


def test_a_permanent_refusal_is_dead_at_once_and_can_be_requeued(
    http, engine, demo_database_url, worker_env, sms, site_keys
):
    created = _share(http, site_keys, "sms", "+1 613 555 0188")
    sms.fail_next(1, status=400)  # the provider says the number cannot receive it
    _worker(demo_database_url, worker_env, "--once")
    row = _message(engine, created["id"])
    assert row["state"] == "dead" and row["last_error"] == "HTTP 400" and row["attempts"] == 1
    assert row["recipient_enc"] is not None  # kept until the retention time, for a re-queue
    assert _audit(engine, created["id"]) == ["share-create", "share-dead"]
    requeued = _worker(demo_database_url, worker_env, "--requeue-dead")
    assert "re-queued 1 dead share messages" in requeued
    _worker(demo_database_url, worker_env, "--once")
    assert _message(engine, created["id"])["state"] == "delivered"


def test_attempts_end_in_a_dead_letter(http, engine, demo_database_url, worker_env, sms, site_keys):
    created = _share(http, site_keys, "sms", "+1 613 555 0177")
    sms.fail_next(3)
    env = {**worker_env, "FIELDNAV_SHARES_MAX_ATTEMPTS": "3"}
    for _ in range(3):
        _worker(demo_database_url, env, "--once")
    row = _message(engine, created["id"])
    assert row["state"] == "dead" and row["attempts"] == 3 and row["last_error"] == "HTTP 503"
    sms.fail_next(0)


def test_recipients_are_purged_after_the_retention_time(
    http, engine, demo_database_url, worker_env, sms, smtp, site_keys
):
    # A message that cannot go (the SMS provider keeps failing) keeps its recipient only so long.
    created = _share(http, site_keys, "email", "late@example.org")
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE share_outbox SET created_at = now() - interval '73 hours' WHERE share_id = :id"),
            {"id": created["id"]},
        )
    dry = fieldnav(demo_database_url, "purge", "--dry-run")
    assert "shares: would remove 0 expired shares and 1 recipients kept past retention" in dry.stdout, dry.stdout
    done = fieldnav(demo_database_url, "purge")
    assert "1 recipients kept past retention" in done.stdout, done.stdout
    row = _message(engine, created["id"])
    assert row["recipient_enc"] is None and row["state"] == "dead"
    assert row["last_error"] == "not delivered within the retention time"
    count = len(smtp.messages)
    _worker(demo_database_url, worker_env, "--once")
    assert len(smtp.messages) == count  # never sent after its recipient is gone


def test_expired_shares_are_removed_after_the_grace_days(http, engine, demo_database_url, site_keys):
    created = _share(http, site_keys, "sms", "+1 416 555 0123")
    with engine.begin() as connection:
        connection.execute(
            text("""
            UPDATE share SET created_at = now() - interval '40 days', expires_at = now() - interval '31 days'
            WHERE id = :id
        """),
            {"id": created["id"]},
        )
    assert http.get(created["url"], headers={"Accept": "text/html"}).status_code == 410
    done = fieldnav(demo_database_url, "purge")
    assert "shares: removed 1 expired shares" in done.stdout, done.stdout
    with engine.connect() as connection:
        left = connection.execute(
            text(
                "SELECT (SELECT count(*) FROM share WHERE id = :id) + (SELECT count(*) FROM share_outbox WHERE share_id = :id)"
            ),
            {"id": created["id"]},
        ).scalar_one()
        actions = (
            connection.execute(
                text("SELECT action FROM handoff_audit WHERE action = 'share-purge' ORDER BY id DESC LIMIT 1")
            )
            .scalars()
            .all()
        )
    assert left == 0 and actions == ["share-purge"]
    assert http.get(created["url"], headers={"Accept": "text/html"}).status_code == 404


def test_key_rotation_reencrypts_waiting_recipients(http, engine, demo_database_url, site_keys):
    created = _share(http, site_keys, "sms", "+1 416 555 0166")
    new_key = Fernet.generate_key().decode()
    env = {"FIELDNAV_HANDOFF_KEYS": f"{new_key},{TEST_KEY}"}
    done = fieldnav(demo_database_url, "handoffs", "rotate-keys", env=env)
    assert done.returncode == 0, done.stderr
    token = bytes(_message(engine, created["id"])["recipient_enc"])
    assert Fernet(new_key.encode()).decrypt(token) == b"+14165550166"
    with pytest.raises(KeyRingError):  # re-encrypted: the old key alone no longer reads it
        RING.decrypt(token)


def test_a_recipient_that_cannot_be_decrypted_is_dead_and_the_others_go(
    http, engine, demo_database_url, worker_env, sms, site_keys
):
    lost = _share(http, site_keys, "sms", "+1 416 555 0155")
    kept = _share(http, site_keys, "sms", "+1 416 555 0144")
    with engine.begin() as connection:  # as if its key had been removed before rotation finished
        connection.execute(
            text("UPDATE share_outbox SET recipient_enc = :token WHERE share_id = :id"),
            {"token": Fernet(Fernet.generate_key()).encrypt(b"+14165550155"), "id": lost["id"]},
        )
    output = _worker(demo_database_url, worker_env, "--once")
    assert "+14165550155" not in output
    row = _message(engine, lost["id"])
    assert row["state"] == "dead" and row["last_error"] == "recipient cannot be decrypted with the configured keys"
    assert _message(engine, kept["id"])["state"] == "delivered"
