"""The webhook event a new field report sends its centre (``report.created``), through the
handoff outbox (service/handoffs/outbox.py): written in the report's own transaction, signed
and retried by ``fieldnav worker`` like every event.

The body holds no free text: never the note (it may name a person), only whether there is
one. The centre reads the report through the API (``links.report``, audited).
"""

from __future__ import annotations

import uuid

import orjson
from sqlalchemy import Connection

from service.handoffs import outbox

CREATED = "report.created"


def event_body(event_id: uuid.UUID, report: dict, service_name: str | None) -> bytes:
    """``report``: the inserted row (id, service_id, kind, status, centre_id, created_at, note)."""
    return orjson.dumps(
        {
            "id": str(event_id),
            "type": CREATED,
            "occurred_at": report["created_at"].isoformat(),
            "report": {
                "id": str(report["id"]),
                "kind": report["kind"],
                "status": report["status"],
                "centre_id": report["centre_id"],
                "service_id": str(report["service_id"]),
                "service_name": service_name,
                "created_at": report["created_at"].isoformat(),
                "has_note": report["note"] is not None,
            },
            "links": {"report": f"/v1/admin/reports/{report['id']}"},
        }
    )


def enqueue_created(connection: Connection, report: dict, service_name: str | None) -> uuid.UUID | None:
    """The event for the report's centre if it has a webhook (none without a centre); its id."""
    event_id = uuid.uuid4()
    return outbox.write(
        connection,
        event_id,
        CREATED,
        report["centre_id"],
        event_body(event_id, report, service_name),
        report_id=report["id"],
    )
