"""HSDS 3.x core tables, fieldnav's spatial columns, category groups and change log.

Revision ID: 0001_hsds_core
Revises:
Create Date: 2026-11-25

Tables and fields follow HSDS 3.0 (plus 3.1's service_capacity and unit). fieldnav's own
additions, documented in mobile_api_spec/README.md:
- every row carries ``source`` (the import source it came from) and ``source_id`` (its id
  in that source), so re-imports are stable and records missing from a re-import can be
  found and tombstoned;
- ``location.geom`` (Point, 4326, GiST) and H3 cells ``h3_r4`` .. ``h3_r9`` (bigint);
- ``location.address_private`` for confidential sites;
- ``service.category_groups`` (text[], GIN) and ``service.content_hash`` (change detection);
- ``change_log``, ``data_version`` and ``import_run``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql as pg

revision = "0001_hsds_core"
down_revision = None
branch_labels = None
depends_on = None

H3_RESOLUTIONS = range(4, 10)

UUID = pg.UUID(as_uuid=True)


def _id() -> sa.Column:
    return sa.Column("id", UUID, primary_key=True)


def _provenance() -> list[sa.Column]:
    return [
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_id", sa.Text),
    ]


def _parent(column: str, table: str, *, nullable: bool = True, on_delete: str = "CASCADE") -> sa.Column:
    return sa.Column(
        column,
        UUID,
        sa.ForeignKey(f"{table}.id", ondelete=on_delete),
        nullable=nullable,
        index=True,
    )


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    op.create_table(
        "organization",
        _id(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("alternate_name", sa.Text),
        sa.Column("description", sa.Text),
        sa.Column("email", sa.Text),
        sa.Column("website", sa.Text),
        sa.Column("tax_status", sa.Text),
        sa.Column("tax_id", sa.Text),
        sa.Column("year_incorporated", sa.Integer),
        sa.Column("legal_status", sa.Text),
        sa.Column("logo", sa.Text),
        sa.Column("uri", sa.Text),
        sa.Column("parent_organization_id", UUID),
        *_provenance(),
    )

    op.create_table(
        "service",
        _id(),
        _parent("organization_id", "organization"),
        sa.Column("program_id", UUID),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("alternate_name", sa.Text),
        sa.Column("description", sa.Text),
        sa.Column("url", sa.Text),
        sa.Column("email", sa.Text),
        sa.Column("status", sa.Text, nullable=False, server_default="active"),
        sa.Column("interpretation_services", sa.Text),
        sa.Column("application_process", sa.Text),
        sa.Column("fees_description", sa.Text),
        sa.Column("wait_time", sa.Text),
        sa.Column("fees", sa.Text),
        sa.Column("accreditations", sa.Text),
        sa.Column("eligibility_description", sa.Text),
        sa.Column("minimum_age", sa.Numeric),
        sa.Column("maximum_age", sa.Numeric),
        sa.Column("assured_date", sa.Date),
        sa.Column("assurer_email", sa.Text),
        sa.Column("licenses", sa.Text),
        sa.Column("alert", sa.Text),
        sa.Column("last_modified", sa.DateTime(timezone=True)),
        sa.Column("category_groups", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("content_hash", sa.Text, nullable=False),
        *_provenance(),
    )
    op.create_index("service_category_groups_gin", "service", ["category_groups"], postgresql_using="gin")
    op.create_index("service_source_idx", "service", ["source"])

    op.create_table(
        "location",
        _id(),
        sa.Column("location_type", sa.Text, nullable=False, server_default="physical"),
        sa.Column("url", sa.Text),
        _parent("organization_id", "organization", on_delete="SET NULL"),
        sa.Column("name", sa.Text),
        sa.Column("alternate_name", sa.Text),
        sa.Column("description", sa.Text),
        sa.Column("transportation", sa.Text),
        sa.Column("latitude", sa.Numeric),
        sa.Column("longitude", sa.Numeric),
        sa.Column("external_identifier", sa.Text),
        sa.Column("external_identifier_type", sa.Text),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False)),
        *[sa.Column(f"h3_r{res}", sa.BigInteger) for res in H3_RESOLUTIONS],
        sa.Column("address_private", sa.Boolean, nullable=False, server_default=sa.false()),
        *_provenance(),
    )
    op.create_index("location_geom_gist", "location", ["geom"], postgresql_using="gist")
    for res in H3_RESOLUTIONS:
        op.create_index(f"location_h3_r{res}_idx", "location", [f"h3_r{res}"])

    op.create_table(
        "service_at_location",
        _id(),
        _parent("service_id", "service", nullable=False),
        _parent("location_id", "location", nullable=False),
        sa.Column("description", sa.Text),
        *_provenance(),
    )

    op.create_table(
        "address",
        _id(),
        _parent("location_id", "location"),
        sa.Column("attention", sa.Text),
        sa.Column("address_1", sa.Text),
        sa.Column("address_2", sa.Text),
        sa.Column("city", sa.Text),
        sa.Column("region", sa.Text),
        sa.Column("state_province", sa.Text),
        sa.Column("postal_code", sa.Text),
        sa.Column("country", sa.Text),
        sa.Column("address_type", sa.Text, nullable=False, server_default="physical"),
        *_provenance(),
    )

    op.create_table(
        "phone",
        _id(),
        _parent("location_id", "location"),
        _parent("service_id", "service"),
        _parent("organization_id", "organization"),
        sa.Column("contact_id", UUID),
        _parent("service_at_location_id", "service_at_location"),
        sa.Column("number", sa.Text, nullable=False),
        sa.Column("extension", sa.Text),
        sa.Column("type", sa.Text),
        sa.Column("description", sa.Text),
        *_provenance(),
    )

    op.create_table(
        "schedule",
        _id(),
        _parent("service_id", "service"),
        _parent("location_id", "location"),
        _parent("service_at_location_id", "service_at_location"),
        sa.Column("valid_from", sa.Date),
        sa.Column("valid_to", sa.Date),
        sa.Column("dtstart", sa.Date),
        sa.Column("timezone", sa.Text),
        sa.Column("until", sa.Date),
        sa.Column("count", sa.Integer),
        sa.Column("wkst", sa.Text),
        sa.Column("freq", sa.Text),
        sa.Column("interval", sa.Integer),
        sa.Column("byday", sa.Text),
        sa.Column("byweekno", sa.Text),
        sa.Column("bymonthday", sa.Text),
        sa.Column("byyearday", sa.Text),
        sa.Column("description", sa.Text),
        sa.Column("opens_at", sa.Time),
        sa.Column("closes_at", sa.Time),
        sa.Column("schedule_link", sa.Text),
        sa.Column("attending_type", sa.Text),
        sa.Column("notes", sa.Text),
        *_provenance(),
    )

    op.create_table(
        "taxonomy",
        _id(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("uri", sa.Text),
        sa.Column("version", sa.Text),
        *_provenance(),
    )

    op.create_table(
        "taxonomy_term",
        _id(),
        sa.Column("code", sa.Text, index=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("parent_id", UUID),
        sa.Column("taxonomy", sa.Text),
        sa.Column("language", sa.Text),
        _parent("taxonomy_id", "taxonomy", on_delete="SET NULL"),
        sa.Column("term_uri", sa.Text),
        *_provenance(),
    )

    op.create_table(
        "attribute",
        _id(),
        sa.Column("link_id", UUID, nullable=False, index=True),
        _parent("taxonomy_term_id", "taxonomy_term", nullable=False),
        sa.Column("link_type", sa.Text),
        sa.Column("link_entity", sa.Text, nullable=False),
        sa.Column("value", sa.Text),
        sa.Column("label", sa.Text),
        *_provenance(),
    )

    op.create_table(
        "language",
        _id(),
        _parent("service_id", "service"),
        _parent("location_id", "location"),
        _parent("phone_id", "phone"),
        sa.Column("name", sa.Text),
        sa.Column("code", sa.Text),
        sa.Column("note", sa.Text),
        *_provenance(),
    )

    op.create_table(
        "accessibility",
        _id(),
        _parent("location_id", "location"),
        sa.Column("description", sa.Text),
        sa.Column("details", sa.Text),
        sa.Column("url", sa.Text),
        *_provenance(),
    )

    op.create_table(
        "service_area",
        _id(),
        _parent("service_id", "service"),
        _parent("service_at_location_id", "service_at_location"),
        sa.Column("name", sa.Text),
        sa.Column("description", sa.Text),
        sa.Column("extent", sa.Text),
        sa.Column("extent_type", sa.Text),
        sa.Column("uri", sa.Text),
        *_provenance(),
    )

    op.create_table(
        "unit",
        _id(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("scheme", sa.Text),
        sa.Column("identifier", sa.Text),
        sa.Column("uri", sa.Text),
        *_provenance(),
    )

    op.create_table(
        "service_capacity",
        _id(),
        _parent("service_id", "service", nullable=False),
        _parent("unit_id", "unit", nullable=False),
        sa.Column("available", sa.Numeric, nullable=False),
        sa.Column("maximum", sa.Numeric),
        sa.Column("description", sa.Text),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        *_provenance(),
    )

    # The data version: one row, bumped in the same transaction as the change it names,
    # so a reader never sees a version without its data (or the reverse).
    op.create_table(
        "data_version",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("id = 1", name="data_version_single_row"),
    )
    op.execute("INSERT INTO data_version (id, version) VALUES (1, 0)")

    op.create_table(
        "change_log",
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("service_id", UUID, nullable=False, index=True),
        sa.Column("version", sa.BigInteger, nullable=False, index=True),
        sa.Column("op", sa.Text, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("source", sa.Text, nullable=False),
        sa.CheckConstraint("op IN ('upsert', 'delete')", name="change_log_op"),
    )

    op.create_table(
        "import_run",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("format", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("data_version", sa.BigInteger, nullable=False),
        sa.Column("counts", pg.JSONB, nullable=False),
        sa.Column("problem_count", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "import_run",
        "change_log",
        "data_version",
        "service_capacity",
        "unit",
        "service_area",
        "accessibility",
        "language",
        "attribute",
        "taxonomy_term",
        "taxonomy",
        "schedule",
        "phone",
        "address",
        "service_at_location",
        "location",
        "service",
        "organization",
    ):
        op.drop_table(table)
