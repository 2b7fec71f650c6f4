"""Open ranges: the dated openings of sites whose schedules are not plain weekly patterns.

- ``service_site.open_ranges`` (tstzmultirange): the concrete openings over the hours
  horizon (service/directory/hours.py HORIZON_DAYS) of a site with MONTHLY, YEARLY,
  ordinal, month-day, interval, count, until or dated rules, "the first and third
  Wednesday". NULL for a site with weekly hours (``open_week_minutes``) or unknown hours:
  a site has one or the other, so the "open now" filter ``coalesce(open_week_minutes @>
  ..., open_ranges @> ..., false)`` reads the second only when the first is NULL, and the
  weekly case costs what it did. No index: the filter is a per-row check after the
  spatial walk, as the weekly one is. The application role reads it with the table
  (SELECT on service_site); imports write it.

Revision ID: 0017_open_ranges
Revises: 0016_hsds_sources
"""

from __future__ import annotations

from alembic import op

revision = "0017_open_ranges"
down_revision = "0016_hsds_sources"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE service_site ADD COLUMN open_ranges tstzmultirange")


def downgrade() -> None:
    op.execute("ALTER TABLE service_site DROP COLUMN open_ranges")
