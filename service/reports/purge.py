"""Retention of field reports: ``fieldnav purge`` deletes reports resolved more than
FIELDNAV_REPORTS_RETENTION_DAYS ago (365), notes and all. Open reports are never deleted,
however old: they still warn every result of their service. Each batch is its own
transaction; an interrupted purge resumes where it stopped.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

_DUE = "FROM field_report WHERE status = 'resolved' AND resolved_at < now() - make_interval(secs => :retention_s)"


def _params(retention_days: float) -> dict:
    return {"retention_s": retention_days * 86400}


def count_due(engine: Engine, retention_days: float) -> int:
    with engine.connect() as connection:
        return connection.execute(text(f"SELECT count(*) {_DUE}"), _params(retention_days)).scalar_one()


def purge(engine: Engine, retention_days: float, *, batch_size: int = 1000) -> int:
    """Delete the resolved reports past retention; returns how many."""
    deleted = 0
    while True:
        with engine.begin() as connection:
            batch = connection.execute(
                text(f"""
                DELETE FROM field_report WHERE id IN (SELECT id {_DUE} LIMIT :batch FOR UPDATE SKIP LOCKED)
            """),
                {**_params(retention_days), "batch": batch_size},
            ).rowcount
        deleted += batch
        if batch < batch_size:
            return deleted


def summary_line(count: int, retention_days: float, dry_run: bool = False) -> str:
    return f"{'would delete' if dry_run else 'deleted'} {count} field reports resolved more than {retention_days:g} days ago"
