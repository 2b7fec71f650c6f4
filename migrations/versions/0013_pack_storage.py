"""Offline pack files in the database, for deployments of several hosts (issue 15, 13).

Revision ID: 0013_pack_storage
Revises: 0012_confidential_cards
Create Date: 2026-12-03

- ``offline_pack.storage``: where a pack's files are: ``database``, or ``local:<folder id>``
  (a host's FIELDNAV_PACKS_DIR, service/maps/packs/storage.py). NULL for packs built before: they
  are in the folder of the host that built them.
- ``offline_pack_file`` (one row per file: ``<id>.pmtiles``, ``<id>.services.json.gz``, ...)
  and ``offline_pack_chunk`` (its bytes, 1 MiB per row, so a byte range reads only the
  chunks it covers). Deleting a pack's row deletes its files. The chunks are stored without
  compression (``STORAGE EXTERNAL``): they are gzip already, and PostgreSQL would try
  compressing each one in vain.
"""

from __future__ import annotations

from alembic import op

revision = "0013_pack_storage"
down_revision = "0012_confidential_cards"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE offline_pack ADD COLUMN storage text")
    op.execute("""
        CREATE TABLE offline_pack_file (
            name text PRIMARY KEY,
            pack_id uuid NOT NULL REFERENCES offline_pack (id) ON DELETE CASCADE,
            bytes bigint NOT NULL CHECK (bytes >= 0),
            chunk_bytes integer NOT NULL CHECK (chunk_bytes > 0),
            created_at timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("CREATE INDEX offline_pack_file_pack ON offline_pack_file (pack_id)")
    op.execute("""
        CREATE TABLE offline_pack_chunk (
            name text NOT NULL REFERENCES offline_pack_file (name) ON DELETE CASCADE,
            seq integer NOT NULL CHECK (seq >= 0),
            data bytea NOT NULL,
            PRIMARY KEY (name, seq)
        )""")
    op.execute("ALTER TABLE offline_pack_chunk ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.execute("DROP TABLE offline_pack_chunk")
    op.execute("DROP TABLE offline_pack_file")
    op.execute("ALTER TABLE offline_pack DROP COLUMN storage")
