"""What the application role may do: the grants `fieldnav db migrate` applies after migrating.

fieldnav reaches its database as two roles (README, "The database"; docs/deploy.md,
"Roles and grants"):

- the **migration role** (``FIELDNAV_MIGRATION_DATABASE_URL``; the private cluster's
  ``fieldnav``) owns the schema: it runs the migrations, imports, demo data and the centres
  file, and grants the application role what follows;
- the **application role** (``FIELDNAV_DATABASE_URL``; the private cluster's
  ``fieldnav_app``) runs the API, ``fieldnav worker``, ``purge`` and the other day-to-day
  commands. It owns nothing, is no superuser and has no DDL, so it can neither disable the
  triggers that keep the audit log append-only (``ALTER TABLE ... DISABLE TRIGGER``,
  ``SET session_replication_role``: owner or superuser only) nor drop or truncate a table.

The application role gets, per table of the schema:

- the handoff audit log: SELECT and INSERT only;
- the handoff history (``handoff_event``): SELECT and INSERT, and UPDATE of the encrypted
  reason alone (purge clears it, key rotation re-encrypts it);
- the capacity history: SELECT and INSERT only;
- the sites, map points and data version: SELECT, and UPDATE of the live fields alone (a
  provider's count, a field report: service/directory/live_sites.py);
- handoffs: SELECT, INSERT and UPDATE, never DELETE (a delete would take the history with it);
- the tables it keeps up to date itself (APP_WRITES): SELECT, INSERT, UPDATE, DELETE;
- the directory and configuration (READ_ONLY: what imports, migrations and ``centres load``
  write): SELECT;
- any other table (one a later migration adds, until it is classified here): SELECT,
  INSERT, UPDATE, DELETE, as the default privileges give new tables.

Never TRUNCATE, REFERENCES or TRIGGER. ``apply`` is idempotent: every run revokes what the
role has on each table and grants what this module says, in one transaction, so a changed
rule takes effect at the next ``fieldnav db migrate``.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text

DML = ("SELECT", "INSERT", "UPDATE", "DELETE")

# table -> (table privileges, {privilege: columns})
LIMITED: dict[str, tuple[tuple[str, ...], dict[str, tuple[str, ...]]]] = {
    "handoff_audit": (("SELECT", "INSERT"), {}),
    "handoff_event": (("SELECT", "INSERT"), {"UPDATE": ("reason_enc",)}),
    "handoff": (("SELECT", "INSERT", "UPDATE"), {}),
    # Live data (service/directory/live_sites.py): a provider's count or a field report rewrites the live
    # fields of the sites it is about, and moves the data version; nothing else of the directory.
    "service_site": (("SELECT",), {"UPDATE": ("card", "capacity_available", "capacity_as_of")}),
    "map_point": (("SELECT",), {"UPDATE": ("capacity", "capacity_as_of")}),
    "data_version": (("SELECT",), {"UPDATE": ("version", "changed_at")}),
    # The history of counts is appended to, never rewritten.
    "capacity_history": (("SELECT", "INSERT"), {}),
}

# What the API, the webhook worker, purge, key rotation, token revocation, packs gc and
# sync prune change.
APP_WRITES = frozenset(
    {
        "handoff_note",
        "handoff_idempotency",
        "handoff_outbox",
        "auth_device",
        "revoked_token",
        "rate_limit_window",
        "offline_pack",
        "offline_pack_file",
        "offline_pack_chunk",
        "change_log",
        "provider_grant",
        "capacity_live",
        "field_report",
        "share",
        "share_outbox",
    }
)

# Written by migrations, imports (`fieldnav import`, `demo-data`) and `fieldnav centres load`,
# all run as the migration role; the application only reads them.
READ_ONLY = frozenset(
    {
        "alembic_version",
        "import_run",
        "organization",
        "service",
        "location",
        "service_at_location",
        "address",
        "phone",
        "schedule",
        "service_area",
        "language",
        "accessibility",
        "attribute",
        "taxonomy",
        "taxonomy_term",
        "unit",
        "service_capacity",
        "private_cell",
        # Moved by a trigger on private_cell (migration 0029), in the writer's transaction.
        "private_cell_state",
        "site_key",
        "h3_cell",
        "navigator_centre",
        # What each HSDS API pull did (service/importer/sources.py): pulls write it as
        # imports write the directory; GET /v1/admin/sources reads it.
        "hsds_source",
        # Places (service/places/): imports, migrations and `fieldnav places load` write them.
        "place",
        # Named boundaries service areas are matched to (service/areas/): migrations and
        # `fieldnav areas load` write them.
        "area_boundary",
    }
)


class GrantError(RuntimeError):
    """The application role would be too powerful (or the grants cannot be applied)."""


def privileges(table: str) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """(table privileges, column privileges) the application role gets on ``table``."""
    if table in LIMITED:
        return LIMITED[table]
    if table in READ_ONLY:
        return ("SELECT",), {}
    return DML, {}


def _ident(connection: Connection, name: str) -> str:
    return connection.execute(text("SELECT quote_ident(:name)"), {"name": name}).scalar_one()


def _our_relations(connection: Connection, kinds: str) -> list[str]:
    """Tables (or sequences) of schema public, minus extension members (PostGIS's)."""
    return list(
        connection.execute(
            text("""
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = ANY(CAST(:kinds AS "char"[]))
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                          AND d.deptype = 'e')
        ORDER BY c.relname
    """),
            {"kinds": list(kinds)},
        ).scalars()
    )


def statements(connection: Connection, app_role: str) -> list[str]:
    """The SQL that gives ``app_role`` its privileges on the schema as it is now."""
    role = _ident(connection, app_role)
    sql = [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        # Tables created later by the migrating role (outside `fieldnav db migrate`, which
        # applies the rules below after every run anyway).
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {', '.join(DML)} ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
    ]
    for table in _our_relations(connection, "rp"):
        name = _ident(connection, table)
        table_privileges, column_privileges = privileges(table)
        sql.append(f"REVOKE ALL ON TABLE {name} FROM {role}")
        sql.append(f"GRANT {', '.join(table_privileges)} ON TABLE {name} TO {role}")
        for privilege, columns in column_privileges.items():
            sql.append(
                f"GRANT {privilege} ({', '.join(_ident(connection, c) for c in columns)}) ON TABLE {name} TO {role}"
            )
    for table in _our_relations(connection, "v"):
        name = _ident(connection, table)
        sql += [f"REVOKE ALL ON TABLE {name} FROM {role}", f"GRANT SELECT ON TABLE {name} TO {role}"]
    for sequence, fed_table in _sequences(connection):
        name = _ident(connection, sequence)
        sql.append(f"REVOKE ALL ON SEQUENCE {name} FROM {role}")
        if fed_table is None or "INSERT" in privileges(fed_table)[0]:  # the serial of a table the role inserts into
            sql.append(f"GRANT USAGE, SELECT ON SEQUENCE {name} TO {role}")
    return sql


def _sequences(connection: Connection) -> list[tuple[str, str | None]]:
    """(sequence, the table whose serial or identity column it feeds, if any)."""
    return [
        tuple(row)
        for row in connection.execute(
            text("""
        SELECT s.relname, t.relname FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace
        LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
             AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        LEFT JOIN pg_class t ON t.oid = d.refobjid
        WHERE n.nspname = 'public' AND s.relkind = 'S'
          AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass AND e.objid = s.oid
                          AND e.deptype = 'e')
        ORDER BY s.relname
    """)
        )
    ]


def problems(connection: Connection, app_role: str) -> list[str]:
    """Why ``app_role`` could still change the audit log behind the triggers' back, if it could."""
    found = []
    row = (
        connection.execute(
            text("""
        SELECT rolsuper, rolbypassrls, pg_has_role(:app, current_user, 'MEMBER') AS member_of_owner
        FROM pg_roles WHERE rolname = :app
    """),
            {"app": app_role},
        )
        .mappings()
        .first()
    )
    if row is None:
        return [f"role {app_role!r} does not exist"]
    if row["rolsuper"]:
        found.append(f"role {app_role!r} is a superuser")
    if row["member_of_owner"]:
        found.append(f"role {app_role!r} is (a member of) the migration role {_current_user(connection)!r}")
    owned = (
        connection.execute(
            text("""
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND pg_has_role(:app, c.relowner, 'MEMBER') ORDER BY 1
    """),
            {"app": app_role},
        )
        .scalars()
        .all()
    )
    if owned:
        found.append(
            f"role {app_role!r} owns {', '.join(owned[:5])}{' ...' if len(owned) > 5 else ''} "
            "(REASSIGN OWNED BY it TO the migration role)"
        )
    if connection.execute(
        text("SELECT has_schema_privilege(:app, 'public', 'CREATE')"), {"app": app_role}
    ).scalar_one():
        found.append(
            f"role {app_role!r} may create objects in schema public (REVOKE CREATE ON SCHEMA public FROM PUBLIC)"
        )
    return found


def _current_user(connection: Connection) -> str:
    return connection.execute(text("SELECT current_user")).scalar_one()


def apply(engine: Engine, app_role: str) -> int:
    """Give ``app_role`` its privileges (idempotent, one transaction); raises GrantError when
    the role could get round them. Returns the number of statements run."""
    with engine.begin() as connection:
        if app_role == _current_user(connection):
            raise GrantError(
                f"the application role {app_role!r} is the migration role itself: give "
                "FIELDNAV_DATABASE_URL and FIELDNAV_MIGRATION_DATABASE_URL different roles"
            )
        # Two migrations at once would update the same catalogue rows ("tuple concurrently updated").
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('fieldnav: grants'))"))
        if connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :app"), {"app": app_role}).first() is None:
            raise GrantError(f"the application role {app_role!r} (FIELDNAV_DATABASE_URL's user) does not exist")
        connection.execute(
            text(f"REVOKE CREATE ON SCHEMA public FROM {_ident(connection, app_role)}")
        )  # a direct grant
        found = problems(connection, app_role)
        if found:
            raise GrantError("the application role could bypass the audit log's protection: " + "; ".join(found))
        sql = statements(connection, app_role)
        for statement in sql:
            connection.execute(text(statement))
    return len(sql)
