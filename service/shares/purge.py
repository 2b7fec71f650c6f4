"""``fieldnav purge`` for shares: delete shares FIELDNAV_SHARES_GONE_DAYS after they expired
(their link then answers 404, not 410; their messages go with them) and clear every SMS or
email recipient kept past FIELDNAV_SHARES_RECIPIENT_RETENTION_H."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text

from service.handoffs import audit
from service.platform.settings import ShareSettings
from service.shares import outbox

_DUE = "FROM share WHERE expires_at < now() - make_interval(secs => :gone_s)"


@dataclass(frozen=True)
class Purged:
    shares: int
    recipients: int

    def summary_line(self, *, dry_run: bool = False) -> str:
        verb = "would remove" if dry_run else "removed"
        return f"shares: {verb} {self.shares} expired shares and {self.recipients} recipients kept past retention"


def count_due(engine: Engine, settings: ShareSettings) -> Purged:
    with engine.connect() as connection:
        shares = connection.execute(
            text(f"SELECT count(*) {_DUE}"), {"gone_s": settings.gone_days * 86400}
        ).scalar_one()
        recipients = connection.execute(
            text("""
            SELECT count(*) FROM share_outbox
            WHERE recipient_enc IS NOT NULL AND created_at < now() - make_interval(secs => :retention_s)
        """),
            {"retention_s": settings.recipient_retention_h * 3600},
        ).scalar_one()
    return Purged(shares, recipients)


def purge(engine: Engine, settings: ShareSettings) -> Purged:
    with engine.begin() as connection:
        recipients = outbox.purge_recipients(connection, settings.recipient_retention_h * 3600)
        shares = connection.execute(text(f"DELETE {_DUE}"), {"gone_s": settings.gone_days * 86400}).rowcount
        if shares or recipients:
            audit.record(
                connection,
                audit.Actor.system("purge"),
                [
                    audit.Entry(
                        "share-purge",
                        "retention: expired shares and undelivered recipients removed",
                        detail={"shares": shares, "recipients": recipients},
                    )
                ],
            )
    return Purged(shares, recipients)
