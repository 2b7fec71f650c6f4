"""A private PostgreSQL + PostGIS cluster run from the system's binaries.

Used when no DATABASE_URL is configured: no system service, no docker. The cluster lives in
one directory (``base_dir``), listens on 127.0.0.1 and a private unix socket, and serves one
database named ``fieldnav`` to two roles (service/platform/grants.py): ``fieldnav``, which owns the
database and its schema (migrations, imports), and ``fieldnav_app``, the application's role,
which owns nothing and gets its privileges from ``fieldnav db migrate``.

Layout of ``base_dir``::

    data/             PGDATA (created by initdb, owned by the database OS user)
    run/              unix socket directory (or /tmp/fieldnav-pg-<hash> when the path is long)
    port              TCP port, chosen once at init
    password          password of the ``fieldnav`` role, the owner (mode 0600)
    app-password      password of the ``fieldnav_app`` role, the application (mode 0600)
    postgresql.log    server log
    .lock             flock taken by start()/stop() so concurrent callers do not race

This module takes plain values only (no settings, no FastAPI) so the CLI, the app and the
tests can all use it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

OWNER_ROLE = "fieldnav"
APP_ROLE = "fieldnav_app"
APP_DATABASE = "fieldnav"
SUPERUSER = "postgres"
LISTEN_HOST = "127.0.0.1"
DEFAULT_DB_OS_USER = "postgres"

# sun_path is 108 bytes including the NUL; the socket file is "<dir>/.s.PGSQL.<port>".
_MAX_SOCKET_PATH_BYTES = 107
_SOCKET_NAME_MAX_BYTES = len("/.s.PGSQL.65535")

_INSTALL_HINT = (
    "sudo apt-get update && sudo apt-get install -y postgresql postgresql-15-postgis-3 "
    "(or run scripts/ensure-os-deps.sh; set FIELDNAV_PG_BINDIR to use binaries elsewhere)"
)


class EmbeddedDbError(RuntimeError):
    """The private cluster cannot be found, initialised, started or stopped."""


@dataclass
class ClusterStatus:
    running: bool
    data_dir: Path
    port: int | None
    url: str | None
    pid: int | None


# --------------------------------------------------------------------------- binaries


def find_pg_bindir() -> Path:
    """Directory holding initdb/pg_ctl/postgres; raises EmbeddedDbError when there is none."""
    override = os.environ.get("FIELDNAV_PG_BINDIR")
    if override:
        bindir = Path(override)
        if not _has_server_binaries(bindir):
            raise EmbeddedDbError(
                f"FIELDNAV_PG_BINDIR={override} has no initdb/pg_ctl/postgres; "
                "point it at a PostgreSQL server bin directory or unset it"
            )
        return bindir
    from_pg_config = _bindir_from_pg_config()
    if from_pg_config is not None:
        return from_pg_config
    from_debian_layout = _highest_debian_bindir()
    if from_debian_layout is not None:
        return from_debian_layout
    raise EmbeddedDbError(f"PostgreSQL server binaries (initdb, pg_ctl) not found. Install: {_INSTALL_HINT}")


def _has_server_binaries(bindir: Path) -> bool:
    return all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))


def _bindir_from_pg_config() -> Path | None:
    # On Debian /usr/bin/pg_config may come from libpq-dev and name a bindir without a server.
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    try:
        out = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    bindir = Path(out)
    return bindir if out and _has_server_binaries(bindir) else None


def _highest_debian_bindir() -> Path | None:
    candidates = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if _has_server_binaries(p)]
    if not candidates:
        return None
    return max(candidates, key=lambda p: _version_key(p.parent.name))


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name)) or (0,)


# --------------------------------------------------------------------------- cluster


class EmbeddedCluster:
    """One private cluster in ``base_dir``. Safe to use from several processes at once."""

    def __init__(
        self,
        base_dir: Path,
        *,
        port: int | None = None,
        durable: bool = True,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        """``settings``: server settings (name: value) written with the others on every start;
        they take effect when the server starts, so a running cluster keeps its own until it
        is stopped (the benchmarks size ``shared_buffers`` this way, bench/common.py)."""
        self.base_dir = Path(base_dir).absolute()
        self.data_dir = self.base_dir / "data"
        self.log_file = self.base_dir / "postgresql.log"
        self._port_file = self.base_dir / "port"
        self._password_file = self.base_dir / "password"
        self._app_password_file = self.base_dir / "app-password"
        self._lock_file = self.base_dir / ".lock"
        self._requested_port = port
        self._durable = durable
        self._settings = dict(settings or {})
        self.start_timeout_s = 60.0
        self.stop_timeout_s = 60.0
        self.lock_timeout_s = 180.0

    # ---- public API

    def start(self) -> str:
        """Initialise on first use, start if needed, ensure roles/database/PostGIS; return the
        owner's URL (``app_url()`` is the application role's)."""
        bindir = find_pg_bindir()
        self._prepare_base_dir()
        with self._locked():
            if not self._is_initialised():
                self._init_cluster(bindir)
            self._ensure_secrets()
            if self._running_pid():
                self._check_running_port()
            else:
                self._start_server(bindir)
            if not self.is_standby():  # a standby is read-only: it gets all of this by replication
                self._ensure_app_database()
        url = self.url()
        assert url is not None
        return url

    def stop(self) -> None:
        """Stop the server (fast shutdown); does nothing when it is not running."""
        if not self._is_initialised():
            return
        with self._locked():
            if not self._running_pid():
                return
            bindir = find_pg_bindir()
            cmd = [str(bindir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w"]
            cmd += ["-t", str(int(self.stop_timeout_s)), "-s"]
            result = self._run_as_db_user(cmd, timeout_s=self.stop_timeout_s + 10)
            if result.returncode != 0 and self._running_pid():
                raise EmbeddedDbError(f"pg_ctl stop failed:\n{result.stdout}{result.stderr}")

    def status(self) -> ClusterStatus:
        pid = self._running_pid()
        port = (self._pidfile_port() or self._read_port()) if pid else self._read_port()
        url = self._owner_url(port) if pid and port and self._password_file.exists() else None
        return ClusterStatus(running=bool(pid), data_dir=self.data_dir, port=port, url=url, pid=pid)

    def url(self) -> str | None:
        """URL of the fieldnav database as its owner (migrations, imports); None if the
        cluster was never initialised."""
        port = self._read_port()
        if port is None or not self._password_file.exists() or not self._is_initialised():
            return None
        return self._owner_url(port)

    def app_url(self, dbname: str = APP_DATABASE) -> str | None:
        """URL of the fieldnav database as the application role (API, worker, purge); None
        before ``start()`` made that role."""
        port = self._read_port()
        if port is None or not self._app_password_file.exists() or not self._is_initialised():
            return None
        return self._url_for(APP_ROLE, self._read_password(self._app_password_file), port, dbname)

    def is_standby(self) -> bool:
        return (self.data_dir / "standby.signal").is_file()

    def create_standby(self, base_dir: Path, *, durable: bool = False) -> EmbeddedCluster:
        """A streaming-replication standby of this (running) cluster in ``base_dir``, made
        with pg_basebackup; start it with ``.start()``. Its URL has the same role and
        password as ours (they are replicated)."""
        self._require_running()
        standby = EmbeddedCluster(base_dir, durable=durable)
        standby._prepare_base_dir()
        scratch = standby.base_dir / "data.init"
        shutil.rmtree(scratch, ignore_errors=True)
        bindir = find_pg_bindir()
        result = self._run_as_db_user(
            [
                str(bindir / "pg_basebackup"),
                "-D",
                str(scratch),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "-h",
                str(self._socket_dir()),
                "-p",
                str(self._require_port()),
                "-U",
                SUPERUSER,
            ],
            timeout_s=300,
        )
        if result.returncode != 0:
            raise EmbeddedDbError(f"pg_basebackup failed: {result.stderr.strip()[-2000:]}")
        scratch.rename(standby.data_dir)
        standby._write_private(standby._password_file, self._read_password() + "\n")
        if self._app_password_file.exists():
            standby._write_private(standby._app_password_file, self._read_password(self._app_password_file) + "\n")
        return standby

    def superuser_url(self) -> str:
        """URL for the superuser over the private unix socket (for tests and admin tasks)."""
        port = self._require_port()
        host = quote(str(self._socket_dir()), safe="/")
        return f"postgresql+psycopg://{SUPERUSER}@/postgres?host={host}&port={port}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` owned by fieldnav, with PostGIS; return its (owner's) URL."""
        self._require_running()
        create = sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(OWNER_ROLE))
        if template is not None:
            create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with self._superuser_connection() as conn:
            try:
                conn.execute(create)
            except psycopg.errors.DuplicateDatabase as exc:
                raise EmbeddedDbError(f"database {name!r} already exists") from exc
        self._create_postgis(name)
        return self._owner_url(self._require_port(), dbname=name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, disconnecting its sessions."""
        self._require_running()
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        with self._superuser_connection() as conn:
            conn.execute(drop)

    # ---- OS user and directories

    def _db_os_user(self) -> pwd.struct_passwd | None:
        """The OS user the server runs as when we are root (postgres refuses to run as root)."""
        if os.geteuid() != 0:
            return None
        name = os.environ.get("FIELDNAV_DB_OS_USER", DEFAULT_DB_OS_USER)
        try:
            return pwd.getpwnam(name)
        except KeyError:
            raise EmbeddedDbError(
                f"running as root, PostgreSQL must run as another OS user, but user {name!r} "
                f"does not exist. Install the postgresql package (it creates 'postgres') or set "
                f"FIELDNAV_DB_OS_USER. Install: {_INSTALL_HINT}"
            ) from None

    def _prepare_base_dir(self) -> None:
        self.base_dir.parent.mkdir(parents=True, exist_ok=True)
        user = self._db_os_user()
        if user is not None:
            self._check_traversable(self.base_dir.parent, user.pw_name)
        self.base_dir.mkdir(mode=0o700, exist_ok=True)
        self._chown_to_db_user(self.base_dir)

    def _check_traversable(self, directory: Path, user_name: str) -> None:
        # Path resolution fails unless every ancestor is searchable by that user; we do not
        # chmod the user's directories behind their back.
        probe = subprocess.run(["runuser", "-u", user_name, "--", "test", "-x", str(directory)])
        if probe.returncode != 0:
            raise EmbeddedDbError(
                f"OS user {user_name!r} (which runs PostgreSQL because we are root) cannot reach "
                f"{directory}: every parent directory needs the x permission for it. Move the "
                f"project or database directory somewhere readable (e.g. not under /root), or "
                f"run 'chmod o+x' on the blocking parents yourself."
            )

    def _chown_to_db_user(self, path: Path) -> None:
        user = self._db_os_user()
        if user is not None:
            os.chown(path, user.pw_uid, user.pw_gid)

    def _socket_dir(self) -> Path:
        preferred = self.base_dir / "run"
        if len(os.fsencode(preferred)) + _SOCKET_NAME_MAX_BYTES <= _MAX_SOCKET_PATH_BYTES:
            return preferred
        digest = hashlib.sha256(os.fsencode(self.base_dir)).hexdigest()[:16]
        return Path("/tmp") / f"fieldnav-pg-{digest}"

    def _prepare_socket_dir(self) -> Path:
        # 0700: local connections are trusted, so only the cluster's owner (and root) may
        # reach the socket. Recreated on each start because /tmp is cleaned on reboot.
        directory = self._socket_dir()
        directory.mkdir(mode=0o700, exist_ok=True)
        owner = self._db_os_user()
        expected_uid = owner.pw_uid if owner else os.geteuid()
        if os.geteuid() == 0 and directory.stat().st_uid != expected_uid:
            os.chown(directory, expected_uid, owner.pw_gid if owner else -1)
        if directory.stat().st_uid != expected_uid:
            raise EmbeddedDbError(f"socket dir {directory} belongs to another user; remove it")
        os.chmod(directory, 0o700)
        return directory

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self._lock_file, "a+") as handle:
            deadline = time.monotonic() + self.lock_timeout_s
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise EmbeddedDbError(f"timed out waiting for {self._lock_file}") from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ---- init

    def _is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def _init_cluster(self, bindir: Path) -> None:
        # initdb into a scratch dir and rename: "data/ exists" then always means "initialised".
        scratch = self.base_dir / "data.init"
        shutil.rmtree(scratch, ignore_errors=True)
        if self.data_dir.exists():
            raise EmbeddedDbError(f"{self.data_dir} exists but is not a PostgreSQL data directory")
        cmd = [str(bindir / "initdb"), "-D", str(scratch), "-E", "UTF8"]
        cmd += [f"--locale={_pick_locale()}", "-U", SUPERUSER, "--auth-local=trust"]
        cmd += ["--auth-host=scram-sha-256"]
        if not self._durable:
            cmd.append("--no-sync")
        result = self._run_as_db_user(cmd, timeout_s=300)
        if result.returncode != 0:
            shutil.rmtree(scratch, ignore_errors=True)
            raise EmbeddedDbError(f"initdb failed:\n{result.stdout}{result.stderr}")
        self._write_hba(scratch)
        with open(scratch / "postgresql.conf", "a") as conf:
            conf.write("\n# fieldnav: settings managed by service/platform/embedded_db.py\n")
            conf.write("include_if_exists = 'fieldnav.conf'\n")
        scratch.rename(self.data_dir)

    def _write_hba(self, data_dir: Path) -> None:
        # Unix socket: trusted, guarded by the 0700 socket directory. TCP: password only.
        hba = data_dir / "pg_hba.conf"
        hba.write_text(
            "# fieldnav private cluster (written by service/platform/embedded_db.py)\n"
            "# TYPE  DATABASE  USER  ADDRESS       METHOD\n"
            "local   all       all                 trust\n"
            "local   replication  all              trust\n"
            f"host    all       all   {LISTEN_HOST}/32  scram-sha-256\n"
        )
        self._chown_to_db_user(hba)

    def _ensure_secrets(self) -> None:
        if not self._port_file.exists():
            port = self._requested_port or _pick_free_port()
            self._write_private(self._port_file, f"{port}\n")
        for password_file in (self._password_file, self._app_password_file):
            if not password_file.exists():
                self._write_private(password_file, secrets.token_urlsafe(24) + "\n")

    def _write_private(self, path: Path, text: str) -> None:
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        self._chown_to_db_user(tmp)
        os.replace(tmp, path)

    # ---- start

    def _start_server(self, bindir: Path) -> None:
        self._remove_stale_lock_files()
        port = self._port_for_start()
        socket_dir = self._prepare_socket_dir()
        self._write_server_conf(port, socket_dir)
        cmd = [str(bindir / "pg_ctl"), "start", "-D", str(self.data_dir), "-w"]
        cmd += ["-t", str(int(self.start_timeout_s)), "-l", str(self.log_file), "-s"]
        result = self._run_as_db_user(cmd, timeout_s=self.start_timeout_s + 10)
        if result.returncode != 0 or not self._running_pid():
            raise EmbeddedDbError(
                f"PostgreSQL did not start (port {port}, data {self.data_dir}).\n"
                f"{result.stdout}{result.stderr}\n"
                f"Last lines of {self.log_file}:\n{self._log_tail(20)}"
            )

    def _check_running_port(self) -> None:
        running_port = self._pidfile_port()
        wanted_port = self._requested_port or self._read_port()
        if running_port is not None and running_port != wanted_port:
            raise EmbeddedDbError(
                f"the cluster in {self.base_dir} is running on port {running_port}; "
                "stop it before starting it on another port"
            )

    def _port_for_start(self) -> int:
        # A port picked automatically may have been taken meanwhile (e.g. after a reboot).
        port = self._requested_port or self._require_port()
        if self._requested_port is None and not _port_is_free(port):
            port = _pick_free_port()
        if port != self._read_port():
            self._write_private(self._port_file, f"{port}\n")
        return port

    def _write_server_conf(self, port: int, socket_dir: Path) -> None:
        durability = "on" if self._durable else "off"
        lines = [
            f"port = {port}",
            f"listen_addresses = '{LISTEN_HOST}'",
            f"unix_socket_directories = '{_conf_quote(str(socket_dir))}'",
            "unix_socket_permissions = 0700",
            "password_encryption = 'scram-sha-256'",
            f"fsync = {durability}",
            f"synchronous_commit = {durability}",
            f"full_page_writes = {durability}",
            *(f"{name} = '{_conf_quote(value)}'" for name, value in self._settings.items()),
        ]
        conf = self.data_dir / "fieldnav.conf"
        header = "# written on every start by service/platform/embedded_db.py\n"
        conf.write_text(header + "\n".join(lines) + "\n")
        self._chown_to_db_user(conf)

    def _remove_stale_lock_files(self) -> None:
        # After a reboot the old postmaster PID may belong to an unrelated process, which makes
        # postgres refuse to start; a lock file older than the boot cannot be live.
        lock_files = [self.data_dir / "postmaster.pid", *self._socket_dir().glob(".s.PGSQL.*.lock")]
        for lock_file in lock_files:
            fields = _read_lines(lock_file)
            if len(fields) >= 3 and _started_before_boot(fields[2]):
                lock_file.unlink(missing_ok=True)

    def _log_tail(self, lines: int) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"(cannot read log: {exc})"

    # ---- role, database, extension

    def _ensure_app_database(self) -> None:
        # The application role is no superuser, creates nothing and is no member of the
        # owner: it cannot disable triggers, set session_replication_role or drop tables.
        limits = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
        with self._superuser_connection() as conn:
            for role, password_file, options in (
                (OWNER_ROLE, self._password_file, ""),
                (APP_ROLE, self._app_password_file, " " + limits),
            ):
                role_exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
                verb = "ALTER" if role_exists else "CREATE"
                conn.execute(
                    sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}" + options).format(
                        sql.Identifier(role), sql.Literal(self._read_password(password_file))
                    )
                )
            conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(OWNER_ROLE), sql.Identifier(APP_ROLE)))
            db_exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (APP_DATABASE,)).fetchone()
            if not db_exists:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(APP_DATABASE), sql.Identifier(OWNER_ROLE)
                    )
                )
        self._create_postgis(APP_DATABASE)

    def _create_postgis(self, dbname: str) -> None:
        with self._superuser_connection(dbname) as conn:
            available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone()
            if not available:
                major = conn.info.server_version // 10000
                raise EmbeddedDbError(
                    f"the PostGIS extension is not installed for PostgreSQL {major}. Install: "
                    f"sudo apt-get install -y postgresql-{major}-postgis-3"
                )
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    def _superuser_connection(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host=str(self._socket_dir()),
            port=self._require_port(),
            user=SUPERUSER,
            dbname=dbname,
            autocommit=True,
            connect_timeout=10,
        )

    # ---- state files

    def _running_pid(self) -> int | None:
        """PID of the live postmaster of this data dir; None if absent or stale."""
        fields = _read_lines(self.data_dir / "postmaster.pid")
        if len(fields) < 3 or not fields[0].strip().isdigit():
            return None
        pid = int(fields[0])
        if _started_before_boot(fields[2]) or not _is_postgres_process(pid):
            return None
        return pid

    def _pidfile_port(self) -> int | None:
        fields = _read_lines(self.data_dir / "postmaster.pid")
        return int(fields[3]) if len(fields) >= 4 and fields[3].strip().isdigit() else None

    def _read_port(self) -> int | None:
        text = _read_text(self._port_file)
        return int(text) if text and text.isdigit() else None

    def _require_port(self) -> int:
        port = self._read_port()
        if port is None:
            raise EmbeddedDbError(f"cluster in {self.base_dir} is not initialised; call start()")
        return port

    def _require_running(self) -> None:
        if not self._running_pid():
            raise EmbeddedDbError(f"cluster in {self.base_dir} is not running; call start()")

    def _read_password(self, path: Path | None = None) -> str:
        path = path or self._password_file
        password = _read_text(path)
        if not password:
            raise EmbeddedDbError(f"{path} is missing or empty")
        return password

    def _owner_url(self, port: int, dbname: str = APP_DATABASE) -> str:
        return self._url_for(OWNER_ROLE, self._read_password(), port, dbname)

    @staticmethod
    def _url_for(role: str, password: str, port: int, dbname: str) -> str:
        database = quote(dbname, safe="")
        return f"postgresql+psycopg://{role}:{quote(password, safe='')}@{LISTEN_HOST}:{port}/{database}"

    # ---- subprocesses

    def _run_as_db_user(self, cmd: list[str], *, timeout_s: float) -> subprocess.CompletedProcess[str]:
        user = self._db_os_user()
        if user is not None:
            cmd = ["runuser", "-u", user.pw_name, "--", *cmd]
        # cwd=base_dir: the db user may not be able to enter our cwd (e.g. /root), and the
        # server must not inherit our stdout pipe or run() would wait for it to exit.
        return subprocess.run(
            cmd,
            cwd=self.base_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )


# --------------------------------------------------------------------------- helpers


def _pick_locale() -> str:
    """C.UTF-8 when the system has it (sorts bytewise, knows UTF-8), else plain C."""
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "C"
    names = {line.strip().lower().replace("-", "") for line in out.splitlines()}
    return "C.UTF-8" if "c.utf8" in names else "C"


def _pick_free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LISTEN_HOST, 0))
        return sock.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like postgres itself: TIME_WAIT leftovers from our last run must not count as busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LISTEN_HOST, port))
        except OSError:
            return False
        return True


def _conf_quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "''")


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return None


def _read_lines(path: Path) -> list[str]:
    text = _read_text(path)
    return text.splitlines() if text else []


def _boot_time_s() -> int | None:
    for line in (_read_text(Path("/proc/stat")) or "").splitlines():
        if line.startswith("btime "):
            return int(line.split()[1])
    return None


def _started_before_boot(start_time_field: str) -> bool:
    boot_s = _boot_time_s()
    started = start_time_field.strip()
    return boot_s is not None and started.isdigit() and int(started) < boot_s


def _is_postgres_process(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as exc:
        if exc.errno != errno.EPERM:
            return False
    # A reused PID (the server died without cleaning up) belongs to some other program, and
    # a killed server can linger as a zombie until its parent (often init) reaps it.
    comm = _read_text(Path(f"/proc/{pid}/comm"))
    stat = _read_text(Path(f"/proc/{pid}/stat")) or ""
    is_zombie = stat.rpartition(")")[2].split()[:1] == ["Z"]
    return (comm is None or comm.startswith(("postgres", "postmaster"))) and not is_zombie
