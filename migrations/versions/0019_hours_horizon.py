"""``service_site.hours_built_on``: the day a site's date-dependent hours were built.

A site whose hours depend on the date (open ranges, or weekly rules with a start or an end:
service/directory/hours.py ``depends_on_date``) holds its openings for HORIZON_DAYS from the
day it was built; the daily roll (service/directory/hours_roll.py) rebuilds the hours of the
sites built before today, so the horizon does not run out between imports. NULL for a site
whose hours never change with the date (plain weekly or unknown): the roll never reads it,
and the partial index holds only the sites it does read.

Sites built before this migration get 1970-01-01 when they have open ranges ("built on an
unknown day": the next roll rebuilds their hours); the others are marked by their next build.

Revision ID: 0019_hours_horizon
Revises: 0018_change_log_changed_at
"""

from __future__ import annotations

from alembic import op

revision = "0019_hours_horizon"
down_revision = "0018_change_log_changed_at"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE service_site ADD COLUMN hours_built_on date")
    op.execute("UPDATE service_site SET hours_built_on = DATE '1970-01-01' WHERE open_ranges IS NOT NULL")
    op.execute(
        "CREATE INDEX service_site_hours_built_on ON service_site (hours_built_on) WHERE hours_built_on IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX service_site_hours_built_on")
    op.execute("ALTER TABLE service_site DROP COLUMN hours_built_on")
