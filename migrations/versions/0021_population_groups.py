"""Population groups: who a site is for (service/directory/populations.py).

- ``service_site.population_groups`` (text[]): the site's groups (women, youth, pets...), read
  by the ``population=`` and ``gender=`` filters of nearest and search as a per-row check (a
  site with no restricting group passes them, so a GIN index would not answer them: no index).
  Empty until the sites are rebuilt, which moving to the head does (service/platform/
  migrate.py): an empty list restricts nobody, so no site is wrongly left out meanwhile.
- ``private_cell.population_groups`` (text[]): the union of the groups of a cell's
  confidential sites, with "_any" when one restricts nobody and "_any_gender" when one
  restricts no gender (service/directory/sites.py). Existing cells get both markers until the
  rebuild: a cell with them is never skipped.

Revision ID: 0021_population_groups
Revises: 0020_places
"""

from __future__ import annotations

from alembic import op

revision = "0021_population_groups"
down_revision = "0020_places"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE service_site ADD COLUMN population_groups text[] NOT NULL DEFAULT '{}'")
    op.execute("ALTER TABLE private_cell ADD COLUMN population_groups text[] NOT NULL DEFAULT '{_any,_any_gender}'")
    op.execute("ALTER TABLE private_cell ALTER COLUMN population_groups DROP DEFAULT")


def downgrade() -> None:
    op.execute("ALTER TABLE private_cell DROP COLUMN population_groups")
    op.execute("ALTER TABLE service_site DROP COLUMN population_groups")
