"""Webhook events, written to the outbox in the same transaction as the change they announce
(a transactional outbox): an event exists if and only if its change was committed.

Only centres with a ``webhook_url`` get events. The body is fixed when the event is written
(retries send the same bytes) and carries no personal data: ids, the reference code, centre,
event type, status, urgency, need groups and times. The centre fetches details through the API
(``GET /v1/navigator/handoffs/{id}``, audited).

An event is about a handoff or about a field report (service/reports/events.py builds those
bodies and writes them with ``write``): ``handoff_id`` or ``report_id`` is set, never both.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import orjson
from sqlalchemy import Connection, text

CHANNEL = "fieldnav_handoff_outbox"

CREATED = "handoff.created"
STATUS_CHANGED = "handoff.status_changed"
CLAIMED = "handoff.claimed"

_INSERT = text("""
    INSERT INTO handoff_outbox (event_id, event_type, handoff_id, report_id, centre_id, body)
    SELECT :event_id, :event_type, CAST(:handoff_id AS uuid), CAST(:report_id AS uuid), c.id, :body
    FROM navigator_centre c WHERE c.id = :centre_id AND c.webhook_url IS NOT NULL
    RETURNING id
""")


def event_body(event_id: uuid.UUID, event_type: str, occurred_at: datetime, handoff: dict) -> bytes:
    return orjson.dumps(
        {
            "id": str(event_id),
            "type": event_type,
            "occurred_at": occurred_at.isoformat(),
            "handoff": {
                "id": str(handoff["id"]),
                "reference": handoff["reference"],
                "centre_id": handoff["centre_id"],
                "status": handoff["status"],
                "urgency": handoff["urgency"],
                "needs": list(handoff["needs"]),
                "version": handoff["version"],
                "created_at": handoff["created_at"].isoformat(),
                "updated_at": handoff["updated_at"].isoformat(),
            },
            "links": {"handoff": f"/v1/navigator/handoffs/{handoff['id']}"},
        }
    )


def write(
    connection: Connection,
    event_id: uuid.UUID,
    event_type: str,
    centre_id: str | None,
    body: bytes,
    *,
    handoff_id: uuid.UUID | None = None,
    report_id: uuid.UUID | None = None,
) -> uuid.UUID | None:
    """Write one event (``body`` carries ``event_id``) if ``centre_id`` names a centre with a
    webhook; returns the event id, or None."""
    row = connection.execute(
        _INSERT,
        {
            "event_id": event_id,
            "event_type": event_type,
            "handoff_id": handoff_id,
            "report_id": report_id,
            "centre_id": centre_id,
            "body": body.decode(),
        },
    ).first()
    if row is None:
        return None
    connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})  # sent at commit
    return event_id


def enqueue(connection: Connection, event_type: str, handoff: dict) -> uuid.UUID | None:
    """Write one event for ``handoff`` (a row with the fields above) if its centre has a
    webhook; returns the event id, or None."""
    event_id = uuid.uuid4()
    body = event_body(event_id, event_type, handoff["updated_at"], handoff)
    return write(connection, event_id, event_type, handoff["centre_id"], body, handoff_id=handoff["id"])
