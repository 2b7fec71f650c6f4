"""Shares: a list of chosen services given to the person (service/shares/).

- ``share``: one list, opened by anyone holding its link. The link's token is never stored,
  only its SHA-256 (``token_sha256``): a copy of the database does not open the pages.
  ``sites`` holds the chosen sites, in the worker's order, as (service id, location id);
  the page reads their current cards when it is opened. ``creator_key`` (issuer|subject)
  counts the hourly cap; the page never shows it. ``service_site (site_key)`` gets an index:
  a share names its sites by the key results give. Deleted some days after it expires
  (``fieldnav purge``); until then the link answers 410.
- ``share_outbox``: the SMS and emails to send (``fieldnav worker``), retried with backoff,
  dead-lettered. ``recipient_enc`` is the phone number or address, Fernet-encrypted with the
  handoff key ring; it is cleared when the message is delivered (a delivered row cannot
  keep it: a CHECK) or once the retention time has passed, whatever the state.

Revision ID: 0023_shares
Revises: 0022_service_areas
"""

from __future__ import annotations

from alembic import op

revision = "0023_shares"
down_revision = "0022_service_areas"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A share names sites by the key results give (service/shares/commands.py).
    op.execute("CREATE INDEX service_site_site_key ON service_site (site_key)")
    op.execute("""
        CREATE TABLE share (
            id uuid PRIMARY KEY,
            token_sha256 bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
            language text NOT NULL CHECK (language IN ('en', 'fr')),
            delivery text NOT NULL CHECK (delivery IN ('link', 'print', 'sms', 'email')),
            sites jsonb NOT NULL CHECK (jsonb_typeof(sites) = 'array'),
            creator_key text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            CHECK (expires_at > created_at)
        )
    """)
    op.execute("CREATE INDEX share_creator ON share (creator_key, created_at)")
    op.execute("CREATE INDEX share_expires ON share (expires_at)")
    op.execute("""
        CREATE TABLE share_outbox (
            id bigserial PRIMARY KEY,
            share_id uuid NOT NULL REFERENCES share (id) ON DELETE CASCADE,
            channel text NOT NULL CHECK (channel IN ('sms', 'email')),
            recipient_enc bytea,
            subject text,
            body text NOT NULL,
            state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            created_at timestamptz NOT NULL DEFAULT now(),
            last_attempt_at timestamptz,
            delivered_at timestamptz,
            recipient_purged_at timestamptz,
            last_error text,
            CHECK (state <> 'delivered' OR recipient_enc IS NULL),
            CHECK ((recipient_enc IS NULL) = (recipient_purged_at IS NOT NULL))
        )
    """)
    op.execute("CREATE INDEX share_outbox_due ON share_outbox (next_attempt_at, id) WHERE state = 'pending'")
    op.execute("CREATE INDEX share_outbox_kept ON share_outbox (created_at) WHERE recipient_enc IS NOT NULL")
    op.execute("CREATE INDEX share_outbox_share ON share_outbox (share_id)")


def downgrade() -> None:
    op.execute("DROP TABLE share_outbox")
    op.execute("DROP TABLE share")
    op.execute("DROP INDEX service_site_site_key")
