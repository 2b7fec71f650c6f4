"""service_site.card_json: the card as JSON text, rendered once when the card is written.

Nearest sends ten cards an answer. Sent from the jsonb column, each is rendered to text on
every read (jsonb_out: about 10 us a card of 1.4 KB), a sixth of the statement's server time
at 100k services; a json column is sent as it is stored (issue 21, bench/README.md). A
generated column, so every writer of ``card`` (imports, the rebuild, live counts, the hours
roll) keeps it true without knowing of it; ``card`` stays jsonb for the queries that read
into it and the updates that merge into it.

Two copies of the card take most rows past PostgreSQL's 2 KB toast threshold, past which it
compresses the largest values in place, and a compressed card must be decompressed to be
sent (pglz_decompress already took 2% of the backend's time with a quarter of the cards
compressed). ``toast_tuple_target`` at its maximum keeps rows of up to 8 KB as they are. It
counts the whole row: an area shape (``serves_geom``) of a few KB now stays inline and
uncompressed too, so rows with large shapes are wider; the demo and the real 211 export have few
such shapes, and a shape is read only for the final k. A card over 4 KB may still be compressed.

Adding a stored generated column rewrites the table under an exclusive lock: 9 s at 100k
services on the bench machine.

Revision ID: 0030_site_card_json
Revises: 0029_private_cell_generation
"""

from __future__ import annotations

from alembic import op

revision = "0030_site_card_json"
down_revision = "0029_private_cell_generation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Before the column, so that the rewrite it causes already keeps rows whole.
    op.execute("ALTER TABLE service_site SET (toast_tuple_target = 8160)")
    op.execute("ALTER TABLE service_site ADD COLUMN card_json json GENERATED ALWAYS AS (card::json) STORED")


def downgrade() -> None:
    op.execute("ALTER TABLE service_site DROP COLUMN card_json")
    op.execute("ALTER TABLE service_site RESET (toast_tuple_target)")
