"""The private PostgreSQL cluster: start, idempotence, stop, persistence, extra databases.

The cluster lives under <project>/.fieldnav/ (not /tmp): as root the server runs as the
postgres OS user, which must be able to traverse the path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from service.platform.embedded_db import EmbeddedCluster, EmbeddedDbError, find_pg_bindir

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCRATCH_ROOT = PROJECT_ROOT / ".fieldnav"


def conninfo(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://")


def fresh_base_dir() -> Path:
    # Not created here: the cluster creates it (mode 0700, owned by the db OS user).
    return SCRATCH_ROOT / f"test-embedded-{uuid.uuid4().hex[:10]}"


def remove_cluster(cluster: EmbeddedCluster) -> None:
    try:
        cluster.stop()
    finally:
        shutil.rmtree(cluster.base_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    cluster = EmbeddedCluster(fresh_base_dir(), durable=False)
    yield cluster
    remove_cluster(cluster)


def test_url_is_none_before_first_start(cluster: EmbeddedCluster) -> None:
    assert cluster.url() is None
    status = cluster.status()
    assert not status.running and status.url is None and status.pid is None


def test_start_serves_postgis_to_the_app_role(cluster: EmbeddedCluster) -> None:
    url = cluster.start()

    status = cluster.status()
    assert status.running and status.url == url and status.pid
    assert url.startswith("postgresql+psycopg://fieldnav:")
    assert url.endswith(f"@127.0.0.1:{status.port}/fieldnav")
    with psycopg.connect(conninfo(url)) as conn:
        user, postgis = conn.execute("SELECT current_user, postgis_version()").fetchone()
    assert user == "fieldnav" and postgis.startswith("3.")


def test_secrets_are_private(cluster: EmbeddedCluster) -> None:
    cluster.start()
    assert (cluster.base_dir / "password").stat().st_mode & 0o777 == 0o600
    assert (cluster.base_dir / "app-password").stat().st_mode & 0o777 == 0o600


def test_start_makes_an_application_role_that_owns_nothing(cluster: EmbeddedCluster) -> None:
    cluster.start()
    app_url = cluster.app_url()
    assert app_url is not None and app_url.startswith("postgresql+psycopg://fieldnav_app:")
    assert app_url.endswith(f"@127.0.0.1:{cluster.status().port}/fieldnav")
    with psycopg.connect(conninfo(app_url)) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "fieldnav_app"
        role = conn.execute("""SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls,
                                      pg_has_role('fieldnav', 'MEMBER')
                               FROM pg_roles WHERE rolname = current_user""").fetchone()
        assert not any(role)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE mine (id int)")
    with psycopg.connect(conninfo(cluster.url())) as conn:  # the owner's URL is the one it always was
        assert conn.execute(
            "SELECT current_user, pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone() == ("fieldnav", "fieldnav")


def test_start_is_idempotent(cluster: EmbeddedCluster) -> None:
    first = cluster.start()
    pid = cluster.status().pid

    assert cluster.start() == first
    assert cluster.status().pid == pid
    assert EmbeddedCluster(cluster.base_dir, durable=False).start() == first


def test_stop_then_start_keeps_data_and_url(cluster: EmbeddedCluster) -> None:
    url = cluster.start()
    with psycopg.connect(conninfo(url)) as conn:
        conn.execute("CREATE TABLE kept (id int PRIMARY KEY)")
        conn.execute("INSERT INTO kept VALUES (42)")

    cluster.stop()
    status = cluster.status()
    assert not status.running and status.pid is None and status.url is None
    cluster.stop()  # idempotent

    assert cluster.start() == url
    with psycopg.connect(conninfo(url)) as conn:
        assert conn.execute("SELECT id FROM kept").fetchall() == [(42,)]


def test_settings_take_effect_at_the_next_start(cluster: EmbeddedCluster) -> None:
    def shown(url: str) -> tuple[str, str]:
        with psycopg.connect(conninfo(url)) as conn:
            return conn.execute("SELECT current_setting('shared_buffers'), current_setting('work_mem')").fetchone()

    url = cluster.start()
    default = shown(url)
    sized = EmbeddedCluster(cluster.base_dir, durable=False, settings={"shared_buffers": "48MB", "work_mem": "7MB"})
    assert shown(sized.start()) == default  # running: kept until a restart
    sized.stop()
    assert shown(sized.start()) == ("48MB", "7MB")
    cluster.stop()
    assert shown(cluster.start()) == default  # without them, the defaults again


def test_stale_pid_file_from_before_a_reboot_is_ignored(cluster: EmbeddedCluster) -> None:
    url = cluster.start()
    cluster.stop()
    # A postmaster.pid naming a live unrelated process (ours) and started long before boot.
    pid_file = cluster.data_dir / "postmaster.pid"
    pid_file.write_text(f"{os.getpid()}\n{cluster.data_dir}\n1\n{cluster.status().port}\n")

    assert not cluster.status().running
    assert cluster.start() == url
    assert cluster.status().running


def test_create_and_drop_database(cluster: EmbeddedCluster) -> None:
    cluster.start()
    url = cluster.create_database("fieldnav_extra")
    try:
        with psycopg.connect(conninfo(url)) as conn:
            db, postgis = conn.execute("SELECT current_database(), postgis_version()").fetchone()
            conn.execute("CREATE TABLE owned_by_app (id int)")  # fieldnav owns the database
        assert db == "fieldnav_extra" and postgis.startswith("3.")
        with pytest.raises(EmbeddedDbError, match="already exists"):
            cluster.create_database("fieldnav_extra")
    finally:
        cluster.drop_database("fieldnav_extra")
    with psycopg.connect(conninfo(cluster.superuser_url())) as conn:
        names = [row[0] for row in conn.execute("SELECT datname FROM pg_database")]
    assert "fieldnav_extra" not in names


def test_concurrent_first_start_from_two_processes() -> None:
    base_dir = fresh_base_dir()
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from service.platform.embedded_db import EmbeddedCluster
        print(EmbeddedCluster(Path({str(base_dir)!r}), durable=False).start())
        """
    )
    try:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", script],
                cwd=PROJECT_ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        results = [proc.communicate(timeout=60) for proc in procs]
        assert [proc.returncode for proc in procs] == [0, 0], results
        assert results[0][0] == results[1][0]
    finally:
        remove_cluster(EmbeddedCluster(base_dir))


def test_long_base_dir_puts_the_socket_in_tmp() -> None:
    cluster = EmbeddedCluster(SCRATCH_ROOT / ("x" * 100) / "db")
    socket_dir = cluster._socket_dir()
    assert socket_dir.parent == Path("/tmp") and socket_dir.name.startswith("fieldnav-pg-")
    assert EmbeddedCluster(SCRATCH_ROOT / "db")._socket_dir() == SCRATCH_ROOT / "db" / "run"


def test_bindir_override_must_hold_the_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FIELDNAV_PG_BINDIR", str(tmp_path))
    with pytest.raises(EmbeddedDbError, match="FIELDNAV_PG_BINDIR"):
        find_pg_bindir()
    monkeypatch.delenv("FIELDNAV_PG_BINDIR")
    assert (find_pg_bindir() / "initdb").is_file()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the server to another OS user")
def test_root_refuses_a_base_dir_the_db_user_cannot_reach(tmp_path: Path) -> None:
    # pytest's tmp_path parents are 0700 root directories.
    hidden = tmp_path / "private"
    hidden.mkdir(mode=0o700)
    os.chmod(tmp_path, 0o700)
    start = time.monotonic()
    with pytest.raises(EmbeddedDbError, match="cannot reach"):
        EmbeddedCluster(hidden / "db").start()
    assert time.monotonic() - start < 5


def test_db_start_makes_both_roles_and_db_migrate_grants_the_application_one() -> None:
    """The commands as `make run` runs them: the API's role cannot touch the audit log."""
    home = SCRATCH_ROOT / f"test-home-{uuid.uuid4().hex[:10]}"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FIELDNAV_DATABASE_URL", "FIELDNAV_MIGRATION_DATABASE_URL", "FIELDNAV_DATABASE_READ_URL")
    }
    env["FIELDNAV_HOME"] = str(home)

    def fieldnav(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "service.cli", *args],
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        return result

    try:
        fieldnav("db", "start")
        for name in ("password", "app-password"):
            assert (home / "db" / name).stat().st_mode & 0o777 == 0o600
        assert "application role fieldnav_app: privileges granted" in fieldnav("db", "migrate").stdout
        app_url, owner_url = fieldnav("db", "url").stdout.strip(), fieldnav("db", "url", "--migration").stdout.strip()
        with psycopg.connect(conninfo(app_url)) as conn:
            assert conn.execute("SELECT current_user").fetchone()[0] == "fieldnav_app"
            conn.execute(
                "INSERT INTO handoff_audit (actor_issuer, actor_subject, actor_agency, actor_role, action, purpose) "
                "VALUES ('t', 't', 't', 't', 'test', 'a test')"
            )
            conn.commit()
            for statement in (
                "DELETE FROM handoff_audit",
                "SET session_replication_role = replica",
                "ALTER TABLE handoff_audit DISABLE TRIGGER ALL",
                "DROP TABLE handoff_audit",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
                conn.rollback()
        # A schema migrated before the application role existed: `db start` grants it.
        with psycopg.connect(conninfo(owner_url), autocommit=True) as conn:
            assert conn.execute("SELECT current_user").fetchone()[0] == "fieldnav"
            conn.execute("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM fieldnav_app")
        with psycopg.connect(conninfo(app_url)) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM handoff_audit")
        fieldnav("db", "start")
        with psycopg.connect(conninfo(app_url)) as conn:
            assert conn.execute("SELECT count(*) FROM handoff_audit").fetchone()[0] == 1
    finally:
        subprocess.run(
            [sys.executable, "-m", "service.cli", "db", "stop"],
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(home, ignore_errors=True)
