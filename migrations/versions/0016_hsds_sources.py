"""HSDS API sources: what `fieldnav import --from-api` and the worker's scheduled pulls
remember per source.

- ``hsds_source``: one row per source pulled from another directory's HSDS 3 API. The
  start of the last successful pull is the ``modified_after`` of the next incremental one
  (the remote's changes made while a pull ran are asked for again, never lost);
  ``pulls_since_full`` counts incremental pulls, so every N-th pull is a full one that
  finds deletions upstream (tombstones). The last attempt, its counts and its error are
  what ``GET /v1/admin/sources`` shows. Written by the pulls (the migration role, as
  imports are); the application role only reads it (service/platform/grants.py).

Revision ID: 0016_hsds_sources
Revises: 0015_live_data
"""

from __future__ import annotations

from alembic import op

revision = "0016_hsds_sources"
down_revision = "0015_live_data"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE hsds_source (
            name text PRIMARY KEY,
            url text NOT NULL,
            last_attempt_at timestamptz,
            last_success_at timestamptz,
            last_full_at timestamptz,
            last_mode text CHECK (last_mode IN ('full', 'incremental')),
            pulls_since_full integer NOT NULL DEFAULT 0 CHECK (pulls_since_full >= 0),
            services_added integer NOT NULL DEFAULT 0,
            services_updated integer NOT NULL DEFAULT 0,
            services_removed integer NOT NULL DEFAULT 0,
            problem_count integer NOT NULL DEFAULT 0,
            data_version bigint,
            last_error text
        )
    """)


def downgrade() -> None:
    op.execute("DROP TABLE hsds_source")
