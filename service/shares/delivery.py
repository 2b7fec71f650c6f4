"""Send the shares' SMS and emails (``fieldnav worker``): retried with backoff, dead-lettered.

As the webhooks (service/handoffs/webhooks.py): a batch is claimed for a lease (several
workers never send one message at once; a crashed worker's messages go again after the
lease), sent, and its outcome recorded. Delivered: the recipient is cleared in the same
statement. A failure is tried again after an exponential backoff with jitter, until
FIELDNAV_SHARES_MAX_ATTEMPTS or a permanent refusal, when it is dead (kept with its
recipient until the retention time, so ``fieldnav worker --requeue-dead`` can send it once
the configuration is mended). Each outcome is audited; logs name the share and the channel,
never the recipient.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine, text

from service.handoffs import audit
from service.handoffs.crypto import KeyRingError, key_ring
from service.handoffs.webhooks import backoff_s
from service.platform.settings import ShareSettings, share_settings, sms_settings, smtp_settings
from service.shares import mail, outbox, sms
from service.shares.sending import Attempt

log = logging.getLogger("fieldnav.shares")

BATCH = 20
LEASE_MARGIN_S = 30
AUDIT_PURPOSE = "information: a list of services sent to the person"

_CLAIM = text("""
    UPDATE share_outbox o
    SET attempts = o.attempts + 1, last_attempt_at = now(), next_attempt_at = now() + make_interval(secs => :lease_s)
    WHERE o.id IN (
        SELECT id FROM share_outbox
        WHERE state = 'pending' AND next_attempt_at <= now() AND recipient_enc IS NOT NULL
        ORDER BY next_attempt_at, id LIMIT :batch FOR UPDATE SKIP LOCKED
    )
    RETURNING o.id, o.share_id, o.channel, o.recipient_enc, o.subject, o.body, o.attempts
""")
_DELIVERED = text("""
    UPDATE share_outbox
    SET state = 'delivered', delivered_at = now(), last_error = NULL, recipient_enc = NULL, recipient_purged_at = now()
    WHERE id = :id
""")
_DEAD = text("UPDATE share_outbox SET state = 'dead', last_error = :error WHERE id = :id")
_RETRY = text("""
    UPDATE share_outbox SET last_error = :error, next_attempt_at = now() + make_interval(secs => :delay_s) WHERE id = :id
""")


@dataclass
class Report:
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    recipients_purged: int = 0

    @property
    def attempted(self) -> int:
        return self.delivered + self.retried + self.dead

    def summary_line(self) -> str:
        return (
            f"share messages: {self.delivered} delivered, {self.retried} to retry, {self.dead} dead, "
            f"{self.recipients_purged} recipients purged after the retention time"
        )


def _send(message) -> Attempt:
    try:
        recipient = key_ring().decrypt(message.recipient_enc)
    except KeyRingError:
        # A key removed before rotation finished: this message can never go; the others can.
        return Attempt("recipient cannot be decrypted with the configured keys", permanent=True)
    settings = share_settings()
    if message.channel == "sms":
        return sms.send(recipient, message.body, sms_settings(), settings.timeout_s)
    return mail.send(recipient, message.subject or "", message.body, smtp_settings())


def _audit(connection, action: str, message, attempt: Attempt) -> None:
    detail = {"share_id": str(message.share_id), "channel": message.channel, "attempts": message.attempts}
    if attempt.error:
        detail["error"] = attempt.error
    audit.record(connection, audit.Actor.system("worker"), [audit.Entry(action, AUDIT_PURPOSE, detail=detail)])


def deliver_due(engine: Engine, settings: ShareSettings) -> Report:
    """Claim one batch of due messages, send them, record the outcomes."""
    with engine.begin() as connection:
        claimed = connection.execute(_CLAIM, {"lease_s": settings.timeout_s * 2 + LEASE_MARGIN_S, "batch": BATCH}).all()
    report = Report()
    for message in claimed:
        attempt = _send(message)
        with engine.begin() as connection:
            if attempt.delivered:
                connection.execute(_DELIVERED, {"id": message.id})
                _audit(connection, "share-delivered", message, attempt)
                report.delivered += 1
                log.info("share %s: %s delivered on attempt %d", message.share_id, message.channel, message.attempts)
            elif attempt.permanent or message.attempts >= settings.max_attempts:
                connection.execute(_DEAD, {"id": message.id, "error": attempt.error})
                _audit(connection, "share-dead", message, attempt)
                report.dead += 1
                log.warning(
                    "share %s: %s dead after %d attempts: %s",
                    message.share_id,
                    message.channel,
                    message.attempts,
                    attempt.error,
                )
            else:
                delay_s = backoff_s(message.attempts, settings.backoff_base_s, settings.backoff_max_s)
                connection.execute(_RETRY, {"id": message.id, "error": attempt.error, "delay_s": delay_s})
                report.retried += 1
                log.info(
                    "share %s: %s attempt %d failed (%s); next in %.0f s",
                    message.share_id,
                    message.channel,
                    message.attempts,
                    attempt.error,
                    delay_s,
                )
    return report


def purge_recipients(engine: Engine, settings: ShareSettings) -> int:
    with engine.begin() as connection:
        purged = outbox.purge_recipients(connection, settings.recipient_retention_h * 3600)
        if purged:
            audit.record(
                connection,
                audit.Actor.system("worker"),
                [audit.Entry("share-recipient-purge", "retention: recipients not kept", detail={"recipients": purged})],
            )
    return purged


def run_once(engine: Engine) -> Report:
    """Clear the recipients kept too long, then send everything due now (batch after batch)."""
    settings = share_settings()
    total = Report(recipients_purged=purge_recipients(engine, settings))
    while True:
        report = deliver_due(engine, settings)
        total.delivered += report.delivered
        total.retried += report.retried
        total.dead += report.dead
        if report.attempted < BATCH:
            return total


def requeue_dead(engine: Engine) -> int:
    """Dead messages that still have their recipient go back in the queue."""
    with engine.begin() as connection:
        return connection.execute(
            text("""
            UPDATE share_outbox SET state = 'pending', attempts = 0, next_attempt_at = now()
            WHERE state = 'dead' AND recipient_enc IS NOT NULL
        """)
        ).rowcount
