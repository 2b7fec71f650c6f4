"""SMS and emails of shares waiting to go out (``share_outbox``), written in the same
transaction as the share: a message exists if and only if its share was committed.

The recipient is encrypted with the handoff key ring (service/handoffs/crypto.py: Fernet,
rotated by ``fieldnav handoffs rotate-keys``) and cleared when the message is delivered, or
once FIELDNAV_SHARES_RECIPIENT_RETENTION_H has passed whatever happened to it
(``purge_recipients``). The body (the neutral text and the link) is not personal data.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text

from service.handoffs.crypto import key_ring
from service.handoffs.outbox import CHANNEL

_INSERT = text("""
    INSERT INTO share_outbox (share_id, channel, recipient_enc, subject, body)
    VALUES (:share_id, :channel, :recipient_enc, :subject, :body)
""")

# Pending messages past the retention time are given up (dead); dead ones lose the recipient
# they kept for a re-queue. A delivered one has none left (a CHECK).
_PURGE_RECIPIENTS = text("""
    UPDATE share_outbox
    SET recipient_enc = NULL, recipient_purged_at = now(),
        last_error = CASE WHEN state = 'pending' THEN 'not delivered within the retention time' ELSE last_error END,
        state = CASE WHEN state = 'pending' THEN 'dead' ELSE state END
    WHERE recipient_enc IS NOT NULL AND created_at < now() - make_interval(secs => :retention_s)
""")


def enqueue(
    connection: Connection, share_id: uuid.UUID, channel: str, recipient: str, subject: str | None, body: str
) -> None:
    connection.execute(
        _INSERT,
        {
            "share_id": share_id,
            "channel": channel,
            "recipient_enc": key_ring().encrypt(recipient),
            "subject": subject,
            "body": body,
        },
    )
    # The worker LISTENs on the outboxes' channel; the notification is sent at commit.
    connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


def purge_recipients(connection: Connection, retention_s: float) -> int:
    """Clear every recipient kept longer than ``retention_s``; returns how many."""
    return connection.execute(_PURGE_RECIPIENTS, {"retention_s": retention_s}).rowcount
