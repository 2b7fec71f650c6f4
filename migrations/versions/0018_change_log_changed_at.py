"""An index on ``change_log (changed_at, service_id)``.

The HSDS API's ``modified_after`` (service/hsds/queries.py) asks for the services changed
since an instant: a follower polls it every few minutes and expects it to cost what the
change does, not what the log holds. Without this index each poll scanned the whole log
(one row per service per import: millions after a year of nightly imports); with it the
poll is an index-only range scan of the recent rows. ``service_id`` is in the key so the
scan never visits the table.

Revision ID: 0018_change_log_changed_at
Revises: 0017_open_ranges
"""

from __future__ import annotations

from alembic import op

revision = "0018_change_log_changed_at"
down_revision = "0017_open_ranges"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX change_log_changed_at ON change_log (changed_at, service_id)")


def downgrade() -> None:
    op.execute("DROP INDEX change_log_changed_at")
