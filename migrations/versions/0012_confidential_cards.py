"""Confidential sites: withhold the free text stored cards still carried (issue 15).

Revision ID: 0012_confidential_cards
Revises: 0011_handoff_reference
Create Date: 2026-12-03

Cards built before service/directory/confidential.py carried, for a confidential site, its
accessibility text ("side door on Elm St"), phone descriptions and the service's alternate
name, URL and email. This fixes the stored cards in place, in this transaction, with what
that allow-list withholds from a card of that era (the fields are repeated here: a migration
must not change when the application code does); ``fieldnav db migrate`` then rebuilds every
site from the HSDS tables with the current rule anyway (service/platform/migrate.py).

What phones and packs already hold is replaced too: the confidential services are logged
as changed ('upsert') under a new data version, so delta sync sends their filtered cards
again, and every offline pack built before is forgotten (its snapshot may hold the text;
phones ask for a new one, the files go with the next garbage collection).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_confidential_cards"
down_revision = "0011_handoff_reference"
branch_labels = None
depends_on = None

# service/importer/writer.py IMPORT_LOCK_KEY: an import rewrites the same rows.
IMPORT_LOCK_KEY = 0x66_69_65_6C_64

# Every site of a service with a confidential site: the service's own text goes, and the
# phones' descriptions. A confidential site also loses what places it.
_FIX_CARDS = """
UPDATE service_site s SET card = s.card
    || jsonb_build_object(
        'alternate_name', NULL, 'url', NULL, 'email', NULL,
        'phones', coalesce((SELECT jsonb_agg(p.phone || '{"description": null}'::jsonb ORDER BY p.n)
                            FROM jsonb_array_elements(s.card -> 'phones') WITH ORDINALITY AS p(phone, n)), '[]'::jsonb))
    || CASE WHEN s.is_private THEN '{"location_name": null, "lon": null, "lat": null, "address": null,
                                    "accessibility": [], "access": "call_to_connect"}'::jsonb
            ELSE '{}'::jsonb END
WHERE s.service_id IN (SELECT service_id FROM service_site WHERE is_private)
"""

_LOG_CHANGES = """
WITH bumped AS (
    UPDATE data_version SET version = version + 1, changed_at = now() WHERE id = 1 RETURNING version
)
INSERT INTO change_log (service_id, version, op, source)
SELECT v.id, b.version, 'upsert', v.source
FROM service v CROSS JOIN bumped b
WHERE v.id IN (SELECT service_id FROM service_site WHERE is_private)
ORDER BY v.id
"""


def upgrade() -> None:
    bind = op.get_bind()
    bind.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK_KEY})
    if not bind.execute(sa.text("SELECT EXISTS (SELECT 1 FROM service_site WHERE is_private)")).scalar():
        return
    bind.execute(sa.text(_FIX_CARDS))
    # The `accessible` filter read the withheld accessibility text: it no longer answers for them.
    bind.execute(sa.text("UPDATE service_site SET accessible = false WHERE is_private AND accessible"))
    bind.execute(sa.text(_LOG_CHANGES))
    bind.execute(sa.text("DELETE FROM offline_pack"))


def downgrade() -> None:
    # Nothing to undo: the withheld text is still in the HSDS tables, and a rebuild of the
    # sites by older code would put it back in the cards.
    pass
