"""Two database roles (service/platform/grants.py): the application role the API, the worker and
purge connect as cannot alter or remove audit rows or handoffs, by any route, while
everything they do works; `fieldnav db migrate` grants it, on a server of one's own and in
the private cluster."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from sqlalchemy import create_engine, make_url, text

from service.auth.principal import Role
from tests.support import PROJECT_ROOT
from tests.support.databases import TEST_APP_ROLE, TEST_OWNER_ROLE, app_url_for
from tests.support.handoffs import EAST_CENTRE, OTTAWA, create, fieldnav, handoff_body, navigator_auth
from tests.support.tokens import auth

REASON = "CANARY-reason-roles"


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _as_app(database_url: str) -> psycopg.Connection:
    return psycopg.connect(_libpq(app_url_for(database_url)))


# Every way the owner of a table (or a superuser) could alter or remove audit rows, handoffs
# or their history; the application role may do none of them.
REFUSED = [
    "UPDATE handoff_audit SET purpose = 'nothing to see'",
    "DELETE FROM handoff_audit",
    "TRUNCATE handoff_audit",
    "ALTER TABLE handoff_audit DISABLE TRIGGER ALL",
    "ALTER TABLE handoff_audit DISABLE TRIGGER handoff_audit_no_change",
    "DROP TRIGGER handoff_audit_no_change ON handoff_audit",
    "SET session_replication_role = replica",
    "SELECT set_config('session_replication_role', 'replica', false)",
    "DROP TABLE handoff_audit",
    "ALTER TABLE handoff_audit RENAME TO handoff_audit_old",
    "ALTER TABLE handoff_audit OWNER TO CURRENT_USER",
    "CREATE OR REPLACE FUNCTION handoff_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
    "DELETE FROM handoff",
    "TRUNCATE handoff",
    "TRUNCATE handoff CASCADE",
    "ALTER TABLE handoff DISABLE TRIGGER ALL",
    "DROP TABLE handoff CASCADE",
    "UPDATE handoff_event SET to_status = 'completed', actor_subject = 'someone-else'",
    "DELETE FROM handoff_event",
    "TRUNCATE handoff_event",
    "ALTER TABLE handoff_event DISABLE TRIGGER handoff_event_guard",
    "CREATE TABLE handoff_audit_copy (id bigint)",
    "ALTER ROLE CURRENT_USER SUPERUSER",
    f"SET ROLE {TEST_OWNER_ROLE}",
    f"GRANT {TEST_OWNER_ROLE} TO CURRENT_USER",
    "UPDATE service SET name = 'renamed'",  # the directory is the migration role's to change
    "UPDATE navigator_centre SET phone = '+1 555 0100'",
]


@pytest.mark.parametrize("statement", REFUSED)
def test_the_app_role_cannot_alter_or_remove_audit_rows_or_handoffs(
    statement, client, handoff_database_url, handoff_engine
):
    handoff_id = create(client, handoff_body(location=OTTAWA))["id"]
    assert (
        client.post(
            f"/v1/handoffs/{handoff_id}/transitions",
            json={"status": "cancelled", "reason": REASON},
            headers=auth(Role.FIELD_WORKER),
        ).status_code
        == 200
    )
    count = "SELECT (SELECT count(*) FROM handoff_audit), (SELECT count(*) FROM handoff), (SELECT count(*) FROM handoff_event)"
    with handoff_engine.connect() as connection:
        before = tuple(connection.execute(text(count)).one())
    with _as_app(handoff_database_url) as connection:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute(statement)
        connection.rollback()
        assert connection.execute("SELECT current_user").fetchone()[0] == TEST_APP_ROLE
        assert connection.execute("SHOW session_replication_role").fetchone()[0] == "origin"
    with handoff_engine.connect() as connection:
        assert tuple(connection.execute(text(count)).one()) == before
        enabled = connection.execute(
            text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'O'")
        ).scalars()
        assert {"handoff_audit_no_change", "handoff_audit_no_truncate", "handoff_event_guard"} <= set(enabled)


def test_the_app_role_is_no_superuser_owner_or_member_of_the_owner(handoff_engine):
    with handoff_engine.connect() as connection:
        role = (
            connection.execute(
                text("""
            SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls,
                   pg_has_role(:app, :owner, 'MEMBER') AS member_of_owner,
                   has_schema_privilege(:app, 'public', 'CREATE') AS may_create
            FROM pg_roles WHERE rolname = :app"""),
                {"app": TEST_APP_ROLE, "owner": TEST_OWNER_ROLE},
            )
            .mappings()
            .one()
        )
        owned = connection.execute(
            text("""
            SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = :app"""),
            {"app": TEST_APP_ROLE},
        ).scalar_one()
        privileges = dict(
            connection.execute(
                text("""
            SELECT table_name, string_agg(privilege_type, ',' ORDER BY privilege_type) FROM information_schema.role_table_grants
            WHERE grantee = :app AND table_name IN ('handoff_audit', 'handoff_event', 'handoff', 'handoff_note')
            GROUP BY table_name"""),
                {"app": TEST_APP_ROLE},
            ).all()
        )
        reason_update = connection.execute(
            text("SELECT has_column_privilege(:app, 'handoff_event', 'reason_enc', 'UPDATE')"), {"app": TEST_APP_ROLE}
        ).scalar_one()
    assert not any(role.values()), dict(role)
    assert owned == 0
    assert privileges == {
        "handoff_audit": "INSERT,SELECT",
        "handoff_event": "INSERT,SELECT",
        "handoff": "INSERT,SELECT,UPDATE",
        "handoff_note": "DELETE,INSERT,SELECT,UPDATE",
    }
    assert reason_update  # purge clears a reason, key rotation re-encrypts it: that column only


def test_the_api_the_worker_and_purge_work_as_the_app_role(
    client, handoff_server, handoff_database_url, handoff_engine, tmp_path
):
    subject = f"roles-{uuid.uuid4().hex[:6]}"
    worker = lambda: auth(Role.FIELD_WORKER, subject=subject)  # noqa: E731
    nav = lambda: navigator_auth("nav-roles", centre=EAST_CENTRE)  # noqa: E731
    body = handoff_body(
        phone="613 555 0142",
        name="Roles Test",
        note="CANARY-roles-note",
        location=OTTAWA,
        consent_scope=("contact", "location"),
        must_attend=True,
    )
    handoff_id = create(client, body, subject=subject)["id"]
    assert client.get(f"/v1/handoffs/{handoff_id}", headers=worker()).status_code == 200
    assert client.get("/v1/handoffs", headers=worker()).status_code == 200
    assert client.get("/v1/navigator/queue", headers=nav()).status_code == 200
    assert client.post(f"/v1/navigator/handoffs/{handoff_id}/claim", json={}, headers=nav()).status_code == 200
    assert (
        client.post(f"/v1/navigator/handoffs/{handoff_id}/notes", json={"text": "call at 5"}, headers=nav()).status_code
        == 201
    )
    assert client.get(f"/v1/navigator/handoffs/{handoff_id}", headers=nav()).status_code == 200
    assert (
        client.post(
            f"/v1/handoffs/{handoff_id}/transitions", json={"status": "cancelled", "reason": REASON}, headers=worker()
        ).status_code
        == 200
    )
    assert client.get("/v1/audit", params={"limit": 5}, headers=auth(Role.ADMIN)).status_code == 200
    with handoff_engine.connect() as connection:  # the server's connections are the application role's
        users = set(
            connection.execute(
                text("""
            SELECT usename FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'fieldnav'
        """)
            ).scalars()
        )
    assert users == {TEST_APP_ROLE}

    with handoff_engine.begin() as connection:
        connection.execute(
            text("UPDATE handoff SET closed_at = now() - interval '400 days' WHERE id = :id"), {"id": handoff_id}
        )
    purged = fieldnav(handoff_database_url, "purge")
    assert purged.returncode == 0, purged.stderr
    assert "purged personal data of 1 handoffs (1 navigator notes, 1 status reasons)" in purged.stdout
    assert fieldnav(handoff_database_url, "worker", "--once").returncode == 0
    exported = fieldnav(handoff_database_url, "audit", "export", "--out", str(tmp_path / "audit.csv"))
    assert exported.returncode == 0, exported.stderr
    with handoff_engine.connect() as connection:
        row = connection.execute(
            text("SELECT phone_enc, purged_at FROM handoff WHERE id = :id"), {"id": handoff_id}
        ).one()
        purge_entry = connection.execute(
            text("SELECT actor_role FROM handoff_audit WHERE handoff_id = :id AND action = 'purge'"), {"id": handoff_id}
        ).scalar_one()
    assert row.phone_enc is None and row.purged_at is not None and purge_entry == "system:purge"


# --- fieldnav db migrate on a server of one's own ------------------------------------------------


def _fieldnav(*args: str, env: dict) -> subprocess.CompletedProcess:
    environment = {
        k: v for k, v in os.environ.items() if k not in ("FIELDNAV_DATABASE_URL", "FIELDNAV_MIGRATION_DATABASE_URL")
    }
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env={**environment, **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def owned_database(pg_server):
    """An empty database with PostGIS, owned by the migration role, as docs/deploy.md has an
    operator make it."""
    name = f"fieldnav_r_{uuid.uuid4().hex[:12]}"
    pg_server.create_database(name, owner=TEST_OWNER_ROLE)
    yield name
    pg_server.drop_database(name)


def test_db_migrate_grants_the_app_role_on_a_server_of_ones_own(pg_server, owned_database):
    app_url = pg_server.role_url(owned_database, TEST_APP_ROLE)
    owner_url = pg_server.role_url(owned_database, TEST_OWNER_ROLE)
    env = {"FIELDNAV_DATABASE_URL": app_url, "FIELDNAV_MIGRATION_DATABASE_URL": owner_url}
    for _ in range(2):  # and again: idempotent
        migrated = _fieldnav("db", "migrate", env=env)
        assert migrated.returncode == 0, migrated.stderr
        assert f"application role {TEST_APP_ROLE}: privileges granted" in migrated.stdout
    assert _fieldnav("db", "url", env=env).stdout.strip() == app_url
    assert _fieldnav("db", "url", "--migration", env=env).stdout.strip() == owner_url
    with psycopg.connect(_libpq(app_url)) as connection:
        connection.execute(
            "INSERT INTO handoff_audit (actor_issuer, actor_subject, actor_agency, actor_role, action, purpose) "
            "VALUES ('t', 't', 't', 't', 'test', 'a test')"
        )
        connection.commit()
        for statement in (
            "DELETE FROM handoff_audit",
            "ALTER TABLE handoff_audit DISABLE TRIGGER ALL",
            "DELETE FROM handoff",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                connection.execute(statement)
            connection.rollback()
    # The migration role imports (it writes the directory the application only reads).
    imported = _fieldnav("demo-data", "--services", "30", "--seed", "2", env=env)
    assert imported.returncode == 0 and "imported demo" in imported.stdout, imported.stderr


def test_with_one_url_one_role_does_everything_as_before(pg_server, owned_database):
    owner_url = pg_server.role_url(owned_database, TEST_OWNER_ROLE)
    migrated = _fieldnav("db", "migrate", env={"FIELDNAV_DATABASE_URL": owner_url})
    assert migrated.returncode == 0, migrated.stderr
    assert "privileges granted" not in migrated.stdout
    assert _fieldnav("db", "url", "--migration", env={"FIELDNAV_DATABASE_URL": owner_url}).stdout.strip() == owner_url


def test_db_migrate_refuses_an_app_role_that_could_bypass_the_triggers(pg_server, owned_database):
    # The test server's own superuser, on the database being migrated.
    superuser = make_url(pg_server.admin_url).set(database=owned_database).render_as_string(hide_password=False)
    env = {
        "FIELDNAV_DATABASE_URL": superuser,
        "FIELDNAV_MIGRATION_DATABASE_URL": pg_server.role_url(owned_database, TEST_OWNER_ROLE),
    }
    migrated = _fieldnav("db", "migrate", env=env)
    assert migrated.returncode == 1 and "is a superuser" in migrated.stderr, migrated.stderr
    engine = create_engine(pg_server.role_url(owned_database, TEST_OWNER_ROLE))
    try:
        with engine.connect() as connection:  # the migrations ran; only the grants were refused
            assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    finally:
        engine.dispose()
