"""Live data: counts from providers, their history, provider grants, and field reports.

- ``provider_grant``: which HSDS organizations a provider account (issuer + subject) may
  update the services of. Organization ids are stable across imports (uuid5), so grants
  survive re-imports; no foreign key, since an import deletes and re-inserts the rows.
- ``capacity_live``: the current count of one service in one unit, as a provider last sent
  it. Imports never touch it (service/capacity/merge.py says which count wins).
- ``capacity_history``: every change, who made it and the old and new values.
- ``field_report``: wrong data reported from the field. One open report per reporter, kind
  and service (a partial unique index).
- ``service_site.capacity_as_of`` / ``map_point.capacity_as_of``: when the count the site
  shows was reported, so "beds free" can leave out stale counts and tiles can grey them.
- ``handoff_outbox`` carries report events too: ``handoff_id`` becomes optional and
  ``report_id`` is added (exactly one of them is set).

Revision ID: 0015_live_data
Revises: 0014_refresh_grace
"""

from __future__ import annotations

from alembic import op

revision = "0015_live_data"
down_revision = "0014_refresh_grace"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE provider_grant (
            principal_key text NOT NULL,
            organization_id uuid NOT NULL,
            granted_by text NOT NULL,
            granted_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (principal_key, organization_id)
        )
    """)
    op.execute("""
        CREATE TABLE capacity_live (
            service_id uuid NOT NULL,
            unit text NOT NULL,
            available integer NOT NULL CHECK (available >= 0),
            maximum integer CHECK (maximum IS NULL OR maximum >= available),
            updated timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            recorded_by text NOT NULL,
            PRIMARY KEY (service_id, unit)
        )
    """)
    op.execute("""
        CREATE TABLE capacity_history (
            id bigserial PRIMARY KEY,
            service_id uuid NOT NULL,
            unit text NOT NULL,
            old_available numeric,
            old_maximum numeric,
            old_updated timestamptz,
            new_available integer NOT NULL,
            new_maximum integer,
            new_updated timestamptz NOT NULL,
            actor_key text NOT NULL,
            actor_role text NOT NULL,
            actor_agency text NOT NULL,
            via text NOT NULL CHECK (via IN ('single', 'bulk')),
            recorded_at timestamptz NOT NULL DEFAULT now()
        )
    """)
    op.execute("CREATE INDEX capacity_history_service ON capacity_history (service_id, recorded_at DESC)")

    op.execute("""
        CREATE TABLE field_report (
            id uuid PRIMARY KEY,
            service_id uuid NOT NULL,
            kind text NOT NULL CHECK (kind IN ('closed_permanently', 'closed_today', 'full', 'wrong_phone',
                                               'wrong_address', 'wrong_hours', 'moved', 'other')),
            note text CHECK (char_length(note) <= 500),
            location geometry(Point, 4326),
            centre_id text REFERENCES navigator_centre (id),
            reporter_key text NOT NULL,
            reporter_role text NOT NULL,
            reporter_agency text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
            resolved_at timestamptz,
            resolved_by text,
            resolution_note text CHECK (char_length(resolution_note) <= 1000),
            CHECK ((status = 'open') = (resolved_at IS NULL))
        )
    """)
    op.execute(
        "CREATE UNIQUE INDEX field_report_one_open ON field_report (service_id, kind, reporter_key) "
        "WHERE status = 'open'"
    )
    op.execute("CREATE INDEX field_report_service_open ON field_report (service_id) WHERE status = 'open'")
    op.execute("CREATE INDEX field_report_centre ON field_report (centre_id, created_at DESC)")
    op.execute("CREATE INDEX field_report_reporter ON field_report (reporter_key, created_at DESC)")

    op.execute("ALTER TABLE service_site ADD COLUMN capacity_as_of timestamptz")
    op.execute("ALTER TABLE map_point ADD COLUMN capacity_as_of timestamptz")
    op.execute("""
        UPDATE service_site SET capacity_as_of = CAST(card #>> '{capacity,as_of}' AS timestamptz)
        WHERE card -> 'capacity' IS NOT NULL AND jsonb_typeof(card -> 'capacity') = 'object'
    """)
    op.execute(
        "UPDATE map_point p SET capacity_as_of = s.capacity_as_of FROM service_site s "
        "WHERE s.id = p.site_id AND s.capacity_as_of IS NOT NULL"
    )

    op.execute("ALTER TABLE handoff_outbox ALTER COLUMN handoff_id DROP NOT NULL")
    op.execute("ALTER TABLE handoff_outbox ADD COLUMN report_id uuid")
    op.execute(
        "ALTER TABLE handoff_outbox ADD CONSTRAINT handoff_outbox_subject "
        "CHECK ((handoff_id IS NULL) <> (report_id IS NULL))"
    )


def downgrade() -> None:
    op.execute("DELETE FROM handoff_outbox WHERE report_id IS NOT NULL")
    op.execute("ALTER TABLE handoff_outbox DROP CONSTRAINT handoff_outbox_subject")
    op.execute("ALTER TABLE handoff_outbox DROP COLUMN report_id")
    op.execute("ALTER TABLE handoff_outbox ALTER COLUMN handoff_id SET NOT NULL")
    op.execute("ALTER TABLE map_point DROP COLUMN capacity_as_of")
    op.execute("ALTER TABLE service_site DROP COLUMN capacity_as_of")
    op.execute("DROP TABLE field_report")
    op.execute("DROP TABLE capacity_history")
    op.execute("DROP TABLE capacity_live")
    op.execute("DROP TABLE provider_grant")
