"""A GIN index on service_site.language_codes, for nearest filters that match few sites.

Revision ID: 0008_language_index
Revises: 0007_private_cells
Create Date: 2026-12-01

A filter that matches nothing near a city (``category=legal&language=cr&age=3`` in Toronto)
made nearest read every site in its 200 km box: a KNN walk cannot stop before it has its
candidates, and a box scan reads them all (400 ms at 100k services). With the category groups
(service_site_groups_gin, migration 0002) and the languages indexed, the first pass can
intersect the two posting lists instead, when the planner's statistics say they are short.
"""

from __future__ import annotations

from alembic import op

revision = "0008_language_index"
down_revision = "0007_private_cells"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX service_site_languages_gin ON service_site USING gin (language_codes)")


def downgrade() -> None:
    op.execute("DROP INDEX service_site_languages_gin")
