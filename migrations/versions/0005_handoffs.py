"""Handoffs to 211 navigators: centres, handoffs with history and notes, idempotency keys,
the webhook outbox and the append-only audit log.

Revision ID: 0005_handoffs
Revises: 0004_auth
Create Date: 2026-11-26

Personal data (callback phone, name, free-text note, contact details, exact location, status
reasons, navigator notes) lives only in the ``*_enc`` columns, as Fernet tokens
(service/handoffs/crypto.py). Everything else is categorical and survives ``fieldnav purge``
for anonymous statistics.

Two tables are protected by triggers:
- ``handoff_audit`` is append-only: UPDATE, DELETE and TRUNCATE raise.
- ``handoff_event`` (the status history) may not be rewritten: the only change allowed is to
  its encrypted reason (key rotation re-encrypts it, purge clears it); DELETE raises unless
  the handoff itself is being deleted.
"""

from __future__ import annotations

from alembic import op

revision = "0005_handoffs"
down_revision = "0004b_private_site_index"
branch_labels = None
depends_on = None

STATUSES = (
    "requested",
    "accepted",
    "rejected",
    "in-progress",
    "on-hold",
    "completed",
    "failed",
    "cancelled",
    "entered-in-error",
)
_STATUS_LIST = ", ".join(f"'{s}'" for s in STATUSES)


def upgrade() -> None:
    op.execute("""
        CREATE TABLE navigator_centre (
            id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
            name_en text NOT NULL,
            name_fr text NOT NULL,
            phone text NOT NULL,
            tel_uri text NOT NULL,
            hours jsonb NOT NULL,
            callback_targets jsonb NOT NULL,
            languages text[] NOT NULL DEFAULT '{}',
            area geometry(MultiPolygon, 4326) NOT NULL,
            area_km2 double precision NOT NULL,
            webhook_url text,
            webhook_secret_env text,
            source text NOT NULL,
            loaded_at timestamptz NOT NULL DEFAULT now()
        )
    """)
    op.execute("CREATE INDEX navigator_centre_area_gist ON navigator_centre USING gist (area)")

    op.execute(f"""
        CREATE TABLE handoff (
            id uuid PRIMARY KEY,
            version integer NOT NULL DEFAULT 1,
            status text NOT NULL CHECK (status IN ({_STATUS_LIST})),
            urgency text NOT NULL CHECK (urgency IN ('routine', 'urgent')),
            needs text[] NOT NULL,
            language text NOT NULL,
            interpreter_needed boolean NOT NULL DEFAULT false,
            centre_id text NOT NULL REFERENCES navigator_centre (id),
            owner_issuer text,
            owner_subject text,
            requested_by_issuer text NOT NULL,
            requested_by_subject text NOT NULL,
            requested_by_role text NOT NULL,
            requesting_agency text NOT NULL,
            consent jsonb,
            contact_method text NOT NULL CHECK (contact_method IN ('phone', 'do_not_contact', 'none')),
            phone_enc bytea,
            name_enc bytea,
            note_enc bytea,
            contact_enc bytea,
            location_enc bytea,
            location_precision text NOT NULL CHECK (location_precision IN ('none', 'cell', 'exact')),
            h3_r7 bigint,
            suggested_services uuid[] NOT NULL DEFAULT '{{}}',
            callback_earliest timestamptz,
            callback_latest timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            created_week date NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            closed_at timestamptz,
            purged_at timestamptz
        )
    """)
    # The navigator queue: open handoffs of one centre, urgent first, then oldest.
    op.execute("""CREATE INDEX handoff_queue ON handoff (centre_id, (CASE WHEN urgency = 'urgent' THEN 0 ELSE 1 END), created_at, id)
                  WHERE status IN ('requested', 'accepted', 'in-progress', 'on-hold')""")
    op.execute("CREATE INDEX handoff_centre_status ON handoff (centre_id, status, created_at)")
    op.execute(
        "CREATE INDEX handoff_by_requester ON handoff (requested_by_issuer, requested_by_subject, updated_at, id)"
    )
    op.execute("CREATE INDEX handoff_by_agency ON handoff (requesting_agency, updated_at, id)")
    op.execute("CREATE INDEX handoff_to_purge ON handoff (closed_at) WHERE purged_at IS NULL AND closed_at IS NOT NULL")
    op.execute("CREATE INDEX handoff_week ON handoff (created_week)")

    op.execute(f"""
        CREATE TABLE handoff_event (
            id bigserial PRIMARY KEY,
            handoff_id uuid NOT NULL REFERENCES handoff (id) ON DELETE CASCADE,
            at timestamptz NOT NULL DEFAULT clock_timestamp(),
            kind text NOT NULL CHECK (kind IN ('status', 'owner')),
            from_status text CHECK (from_status IN ({_STATUS_LIST})),
            to_status text NOT NULL CHECK (to_status IN ({_STATUS_LIST})),
            owner_subject text,
            actor_issuer text NOT NULL,
            actor_subject text NOT NULL,
            actor_agency text NOT NULL,
            actor_role text NOT NULL,
            reason_enc bytea
        )
    """)
    op.execute("CREATE INDEX handoff_event_handoff ON handoff_event (handoff_id, id)")
    op.execute("""
        CREATE FUNCTION handoff_event_guard() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                IF EXISTS (SELECT 1 FROM handoff WHERE id = OLD.handoff_id) THEN
                    RAISE EXCEPTION 'handoff history is kept: events cannot be deleted';
                END IF;
                RETURN OLD;
            END IF;
            IF (NEW.id, NEW.handoff_id, NEW.at, NEW.kind, NEW.from_status, NEW.to_status, NEW.owner_subject,
                NEW.actor_issuer, NEW.actor_subject, NEW.actor_agency, NEW.actor_role)
               IS DISTINCT FROM
               (OLD.id, OLD.handoff_id, OLD.at, OLD.kind, OLD.from_status, OLD.to_status, OLD.owner_subject,
                OLD.actor_issuer, OLD.actor_subject, OLD.actor_agency, OLD.actor_role) THEN
                RAISE EXCEPTION 'handoff history is kept: only the encrypted reason may change';
            END IF;
            RETURN NEW;
        END $$
    """)
    op.execute("""CREATE TRIGGER handoff_event_guard BEFORE UPDATE OR DELETE ON handoff_event
                  FOR EACH ROW EXECUTE FUNCTION handoff_event_guard()""")

    op.execute("""
        CREATE TABLE handoff_note (
            id uuid PRIMARY KEY,
            handoff_id uuid NOT NULL REFERENCES handoff (id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL DEFAULT now(),
            author_issuer text NOT NULL,
            author_subject text NOT NULL,
            author_agency text NOT NULL,
            text_enc bytea NOT NULL
        )
    """)
    op.execute("CREATE INDEX handoff_note_handoff ON handoff_note (handoff_id, created_at)")

    op.execute("""
        CREATE TABLE handoff_idempotency (
            principal_key text NOT NULL,
            idempotency_key text NOT NULL,
            request_hash bytea NOT NULL,
            state text NOT NULL CHECK (state IN ('in_flight', 'done')),
            lock_token uuid NOT NULL,
            started_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            response_status smallint,
            response_headers jsonb,
            response_body text,
            PRIMARY KEY (principal_key, idempotency_key)
        )
    """)
    op.execute("CREATE INDEX handoff_idempotency_expiry ON handoff_idempotency (expires_at)")

    op.execute("""
        CREATE TABLE handoff_outbox (
            id bigserial PRIMARY KEY,
            event_id uuid NOT NULL UNIQUE,
            event_type text NOT NULL,
            handoff_id uuid NOT NULL,
            centre_id text NOT NULL REFERENCES navigator_centre (id),
            body text NOT NULL,
            state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            created_at timestamptz NOT NULL DEFAULT now(),
            last_attempt_at timestamptz,
            delivered_at timestamptz,
            last_error text
        )
    """)
    op.execute("CREATE INDEX handoff_outbox_due ON handoff_outbox (next_attempt_at, id) WHERE state = 'pending'")
    op.execute("CREATE INDEX handoff_outbox_state ON handoff_outbox (state, created_at)")

    op.execute("""
        CREATE TABLE handoff_audit (
            id bigserial PRIMARY KEY,
            at timestamptz NOT NULL DEFAULT clock_timestamp(),
            actor_issuer text NOT NULL,
            actor_subject text NOT NULL,
            actor_agency text NOT NULL,
            actor_role text NOT NULL,
            action text NOT NULL,
            handoff_id uuid,
            fields text[] NOT NULL DEFAULT '{}',
            purpose text NOT NULL,
            detail jsonb
        )
    """)
    op.execute("CREATE INDEX handoff_audit_at ON handoff_audit (at, id)")
    op.execute("CREATE INDEX handoff_audit_handoff ON handoff_audit (handoff_id, id)")
    op.execute("""
        CREATE FUNCTION handoff_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'handoff_audit is append-only (% refused)', TG_OP;
        END $$
    """)
    op.execute("""CREATE TRIGGER handoff_audit_no_change BEFORE UPDATE OR DELETE ON handoff_audit
                  FOR EACH ROW EXECUTE FUNCTION handoff_audit_append_only()""")
    op.execute("""CREATE TRIGGER handoff_audit_no_truncate BEFORE TRUNCATE ON handoff_audit
                  FOR EACH STATEMENT EXECUTE FUNCTION handoff_audit_append_only()""")


def downgrade() -> None:
    op.execute("DROP TABLE handoff_audit")
    op.execute("DROP FUNCTION handoff_audit_append_only()")
    op.execute("DROP TABLE handoff_outbox")
    op.execute("DROP TABLE handoff_idempotency")
    op.execute("DROP TABLE handoff_note")
    op.execute("DROP TABLE handoff_event")
    op.execute("DROP FUNCTION handoff_event_guard()")
    op.execute("DROP TABLE handoff")
    op.execute("DROP TABLE navigator_centre")
