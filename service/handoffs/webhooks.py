"""Deliver the outbox to the navigator centres' own systems: signed, retried, dead-lettered.

At-least-once: an event is claimed for a lease (so several workers never send it at once,
and a crashed worker's events go out again after the lease), POSTed, then marked
delivered; any failure schedules a retry with exponential backoff and jitter, until
``FIELDNAV_HANDOFF_WEBHOOK_MAX_ATTEMPTS`` when it is dead-lettered (kept, listed by
``GET /v1/admin/webhook-deliveries?state=dead``, re-queued by ``fieldnav worker --requeue-dead``).
Receivers de-duplicate by ``Fieldnav-Event-Id``. Events are about handoffs (``handoff.*``)
and field reports (``report.created``): each goes out the same way.

Each request carries:

- ``Fieldnav-Event-Id``, ``Fieldnav-Event-Type``, ``Fieldnav-Delivery-Attempt``;
- ``Fieldnav-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>``, with
  the secret read from the environment variable the centres file names. Receivers check
  the HMAC (constant-time) and refuse a ``t`` far from their clock (replays).

Redirects are not followed; response bodies are not read beyond a few bytes and never
stored or logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from sqlalchemy import Engine, text

from service import __version__
from service.handoffs.outbox import CHANNEL
from service.platform.settings import HandoffSettings

log = logging.getLogger("fieldnav.webhooks")

USER_AGENT = f"fieldnav-webhooks/{__version__}"
LEASE_MARGIN_S = 30


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    secret: bytes, header: str, body: bytes, *, now: float | None = None, tolerance_s: int = 300
) -> bool:
    """What a receiver does (and what the tests do): parse, recompute, compare, check age."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def backoff_s(attempts: int, base_s: float, cap_s: float, rng: random.Random | None = None) -> float:
    """Delay before the next attempt after ``attempts`` failures: exponential, capped, with
    "equal jitter" (between half and all of the exponential step), so retries of many
    events spread out but never come back at once."""
    step = min(cap_s, base_s * 2 ** max(0, attempts - 1))
    return step / 2 + (rng or random).uniform(0, step / 2)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> str | None:
    """None on a 2xx answer, else a short error label (never the response body)."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            response.read(1024)
            return None if 200 <= response.status < 300 else f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None)
        return type(reason).__name__ if isinstance(reason, BaseException) else type(error).__name__


@dataclass
class Report:
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    event_ids: list[str] = field(default_factory=list)

    def add(self, other: Report) -> None:
        self.delivered += other.delivered
        self.retried += other.retried
        self.dead += other.dead

    @property
    def attempted(self) -> int:
        return self.delivered + self.retried + self.dead


_CLAIM = text("""
    UPDATE handoff_outbox o
    SET attempts = o.attempts + 1, last_attempt_at = now(), next_attempt_at = now() + make_interval(secs => :lease_s)
    FROM navigator_centre c
    WHERE o.id IN (
        SELECT id FROM handoff_outbox
        WHERE state = 'pending' AND next_attempt_at <= now()
        ORDER BY next_attempt_at, id LIMIT :batch FOR UPDATE SKIP LOCKED
    ) AND c.id = o.centre_id
    RETURNING o.id, o.event_id, o.event_type, o.body, o.attempts, c.webhook_url, c.webhook_secret_env
""")


def deliver_due(engine: Engine, settings: HandoffSettings, rng: random.Random | None = None) -> Report:
    """Claim one batch of due events, deliver them, record the outcomes."""
    lease_s = settings.webhook_timeout_s + LEASE_MARGIN_S
    with engine.begin() as connection:
        claimed = connection.execute(_CLAIM, {"lease_s": lease_s, "batch": settings.worker_batch_size}).mappings().all()
    report = Report()
    for event in claimed:
        error = _deliver_one(event, settings)
        with engine.begin() as connection:
            if error is None:
                connection.execute(
                    text("""
                    UPDATE handoff_outbox SET state = 'delivered', delivered_at = now(), last_error = NULL WHERE id = :id
                """),
                    {"id": event["id"]},
                )
                report.delivered += 1
                log.info(
                    "webhook event %s (%s) delivered on attempt %d",
                    event["event_id"],
                    event["event_type"],
                    event["attempts"],
                )
            elif event["attempts"] >= settings.webhook_max_attempts or event["webhook_url"] is None:
                connection.execute(
                    text("""
                    UPDATE handoff_outbox SET state = 'dead', last_error = :error WHERE id = :id
                """),
                    {"id": event["id"], "error": error},
                )
                report.dead += 1
                log.warning("webhook event %s dead after %d attempts: %s", event["event_id"], event["attempts"], error)
            else:
                delay_s = backoff_s(
                    event["attempts"], settings.webhook_backoff_base_s, settings.webhook_backoff_max_s, rng
                )
                connection.execute(
                    text("""
                    UPDATE handoff_outbox SET last_error = :error, next_attempt_at = now() + make_interval(secs => :delay_s)
                    WHERE id = :id
                """),
                    {"id": event["id"], "error": error, "delay_s": delay_s},
                )
                report.retried += 1
                log.info(
                    "webhook event %s attempt %d failed (%s); next in %.1f s",
                    event["event_id"],
                    event["attempts"],
                    error,
                    delay_s,
                )
        report.event_ids.append(str(event["event_id"]))
    return report


def _deliver_one(event, settings: HandoffSettings) -> str | None:
    if event["webhook_url"] is None:
        return "centre has no webhook_url"
    secret = os.environ.get(event["webhook_secret_env"] or "")
    if not secret:
        return f"secret not set (environment variable {event['webhook_secret_env']})"
    body = event["body"].encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Fieldnav-Event-Id": str(event["event_id"]),
        "Fieldnav-Event-Type": event["event_type"],
        "Fieldnav-Delivery-Attempt": str(event["attempts"]),
        "Fieldnav-Signature": signature(secret.encode(), int(time.time()), body),
    }
    return post(event["webhook_url"], body, headers, settings.webhook_timeout_s)


def run_once(engine: Engine, settings: HandoffSettings) -> Report:
    """Deliver everything due now (batch after batch), then return."""
    total = Report()
    while True:
        report = deliver_due(engine, settings)
        total.add(report)
        if report.attempted < settings.worker_batch_size:
            return total


def _wait_for_events(listener, timeout_s: float, stop: threading.Event) -> None:
    """Until a NOTIFY arrives, ``timeout_s`` passes or ``stop`` is set (checked every second)."""
    waited_s = 0.0
    while waited_s < timeout_s and not stop.is_set():
        step_s = min(1.0, timeout_s - waited_s)
        if any(True for _ in listener.notifies(timeout=step_s, stop_after=1)):
            return
        waited_s += step_s


def run_forever(
    engine: Engine, settings: HandoffSettings, stop: threading.Event, also: Sequence[Callable[[], object]] = ()
) -> None:
    """Deliver what is due, then wait for a NOTIFY from a new event or the poll interval.
    ``also``: other outboxes' rounds run each time (the shares' messages), woken by the same
    channel. Survives database restarts: it reconnects after the poll interval."""
    while not stop.is_set():
        try:
            raw = engine.raw_connection()
        except Exception:  # noqa: BLE001 - the database may be restarting
            log.warning("webhook worker: database unreachable; retrying in %.0f s", settings.worker_poll_s)
            stop.wait(settings.worker_poll_s)
            continue
        try:
            listener = raw.driver_connection
            if listener is None:  # SQLAlchemy's type: a connection that was closed meanwhile
                raise ConnectionError("the listening connection is closed")
            listener.autocommit = True
            listener.execute(f"LISTEN {CHANNEL}")
            while not stop.is_set():
                rounds: list[Callable[[], object]] = [partial(run_once, engine, settings), *also]
                for round_once in rounds:
                    try:
                        round_once()
                    except Exception:
                        log.exception("delivery round failed; retrying after the poll interval")
                _wait_for_events(listener, settings.worker_poll_s, stop)
        except Exception:  # noqa: BLE001 - the listening connection broke: start over
            log.warning("webhook worker: lost its database connection; reconnecting")
            stop.wait(settings.worker_poll_s)
        finally:
            # Never back into the pool: the connection is in autocommit and LISTENing.
            raw.invalidate()


def requeue_dead(engine: Engine) -> int:
    with engine.begin() as connection:
        return connection.execute(
            text("""
            UPDATE handoff_outbox SET state = 'pending', attempts = 0, next_attempt_at = now() WHERE state = 'dead'
        """)
        ).rowcount


def deliveries(engine: Engine, state: str | None, limit: int) -> list[dict]:
    """Newest first. An event is about a handoff or a field report: the other id is null."""
    with engine.connect() as connection:
        rows = (
            connection.execute(
                text("""
            SELECT event_id, event_type, handoff_id, report_id, centre_id, state, attempts, created_at, last_attempt_at,
                   next_attempt_at, delivered_at, last_error
            FROM handoff_outbox WHERE (CAST(:state AS text) IS NULL OR state = :state)
            ORDER BY created_at DESC, id DESC LIMIT :limit
        """),
                {"state": state, "limit": limit},
            )
            .mappings()
            .all()
        )

    def plain(value):
        if isinstance(value, datetime):
            return value.isoformat()
        return str(value) if isinstance(value, uuid.UUID) else value

    return [{key: plain(value) for key, value in row.items()} for row in rows]
