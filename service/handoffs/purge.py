"""Retention: personal data goes a set time after a handoff closes; anonymous facts stay.

``fieldnav purge`` (run it daily, e.g. from cron or a systemd timer) takes handoffs closed
(in a final status) more than ``FIELDNAV_HANDOFF_RETENTION_DAYS`` ago and not yet purged:

- clears the encrypted personal columns (phone, name, note, contact details, exact location),
- deletes the navigator notes and clears the free-text status reasons,
- sets ``purged_at`` and writes one audit entry per handoff;

and keeps the anonymous fields statistics need: need groups, urgency, language and
interpreter need, created week, H3 r7 cell, status and its history (who/when, no reasons),
centre. It also deletes expired idempotency keys and delivered webhook events older than
the retention. Each batch is its own transaction; an interrupted purge resumes where it
stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text

from service.handoffs import audit
from service.platform.idempotency import delete_expired

PERSONAL_FIELDS = ("phone", "name", "note", "contact_details", "location_exact", "navigator_notes", "status_reasons")


@dataclass
class PurgeReport:
    handoffs: int = 0
    notes: int = 0
    reasons: int = 0
    idempotency_keys: int = 0
    outbox_events: int = 0

    def summary_line(self, dry_run: bool = False) -> str:
        verb = "would purge" if dry_run else "purged"
        return (
            f"{verb} personal data of {self.handoffs} handoffs ({self.notes} navigator notes, {self.reasons} status reasons); "
            f"{'would delete' if dry_run else 'deleted'} {self.idempotency_keys} expired idempotency keys and "
            f"{self.outbox_events} delivered webhook events"
        )


_DUE = """
    FROM handoff WHERE purged_at IS NULL AND closed_at IS NOT NULL
      AND closed_at < now() - make_interval(secs => :retention_s)
"""


def count_due(engine: Engine, retention_days: float) -> PurgeReport:
    params = {"retention_s": retention_days * 86400}
    with engine.connect() as connection:
        return PurgeReport(
            handoffs=connection.execute(text(f"SELECT count(*) {_DUE}"), params).scalar_one(),
            notes=connection.execute(
                text(f"SELECT count(*) FROM handoff_note WHERE handoff_id IN (SELECT id {_DUE})"), params
            ).scalar_one(),
            reasons=connection.execute(
                text(f"""SELECT count(*) FROM handoff_event WHERE reason_enc IS NOT NULL
                                                AND handoff_id IN (SELECT id {_DUE})"""),
                params,
            ).scalar_one(),
            idempotency_keys=connection.execute(
                text("SELECT count(*) FROM handoff_idempotency WHERE expires_at < now()")
            ).scalar_one(),
            outbox_events=connection.execute(
                text("""SELECT count(*) FROM handoff_outbox WHERE state = 'delivered'
                                                     AND delivered_at < now() - make_interval(secs => :retention_s)"""),
                params,
            ).scalar_one(),
        )


def purge(engine: Engine, retention_days: float, *, batch_size: int = 500) -> PurgeReport:
    params = {"retention_s": retention_days * 86400}
    report = PurgeReport()
    actor = audit.Actor.system("purge")
    while True:
        with engine.begin() as connection:
            ids = (
                connection.execute(
                    text(f"SELECT id {_DUE} ORDER BY closed_at, id LIMIT :batch FOR UPDATE SKIP LOCKED"),
                    {**params, "batch": batch_size},
                )
                .scalars()
                .all()
            )
            if not ids:
                break
            report.notes += connection.execute(
                text("DELETE FROM handoff_note WHERE handoff_id = ANY(:ids)"), {"ids": ids}
            ).rowcount
            report.reasons += connection.execute(
                text("""
                UPDATE handoff_event SET reason_enc = NULL WHERE handoff_id = ANY(:ids) AND reason_enc IS NOT NULL
            """),
                {"ids": ids},
            ).rowcount
            connection.execute(
                text("""
                UPDATE handoff SET phone_enc = NULL, name_enc = NULL, note_enc = NULL, contact_enc = NULL,
                                   location_enc = NULL, purged_at = now(),
                                   location_precision = CASE WHEN location_precision = 'exact' THEN 'cell'
                                                             ELSE location_precision END
                WHERE id = ANY(:ids)
            """),
                {"ids": ids},
            )
            audit.record(
                connection,
                actor,
                [
                    audit.Entry(
                        "purge", f"retention: closed more than {retention_days:g} days ago", handoff_id, PERSONAL_FIELDS
                    )
                    for handoff_id in ids
                ],
            )
            report.handoffs += len(ids)
        if len(ids) < batch_size:
            break
    with engine.begin() as connection:
        report.idempotency_keys = delete_expired(connection)
        report.outbox_events = connection.execute(
            text("""
            DELETE FROM handoff_outbox WHERE state = 'delivered' AND delivered_at < now() - make_interval(secs => :retention_s)
        """),
            params,
        ).rowcount
    return report
