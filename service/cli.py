"""The `fieldnav` command: database, import, demo data and the API server."""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC
from pathlib import Path
from typing import NoReturn

import click

from service.areas import cli as cli_areas
from service.capacity import cli as cli_providers
from service.hsds import cli as cli_export
from service.maps import cli as cli_packs
from service.places import cli as cli_places
from service.platform.settings import api_settings, database_settings


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"fieldnav: {message}", err=True)
    sys.exit(code)


@click.group()
@click.version_option(package_name="fieldnav")
def main() -> None:
    """fieldnav: nearest services, offline maps and 211 handoffs for field workers."""


# --- database -----------------------------------------------------------------------------


@main.group()
def db() -> None:
    """The database: fieldnav's private cluster, or FIELDNAV_DATABASE_URL when set."""


def _embedded_or_exit():
    from service.platform.db import embedded_cluster

    if database_settings().database_url:
        _fail("FIELDNAV_DATABASE_URL is set: fieldnav uses that server and does not run its own", 0)
    return embedded_cluster()


@db.command("start")
def db_start() -> None:
    """Start fieldnav's private PostgreSQL (initialising it on first use)."""
    from service.platform.embedded_db import EmbeddedDbError

    cluster = _embedded_or_exit()
    try:
        cluster.start()
    except EmbeddedDbError as error:
        _fail(str(error))
    status = cluster.status()
    click.echo(f"database running on 127.0.0.1:{status.port} (data in {status.data_dir})")
    _grant_if_migrated(cluster)


def _grant_if_migrated(cluster) -> None:
    """The application role of a schema migrated before that role existed gets its
    privileges now (`fieldnav db migrate` grants them on every run anyway)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from service.platform import migrate
    from service.platform.embedded_db import APP_ROLE
    from service.platform.grants import GrantError

    engine = create_engine(cluster.url(), poolclass=NullPool, hide_parameters=True)
    try:
        with engine.connect() as connection:
            migrated = connection.execute(text("SELECT to_regclass('public.alembic_version') IS NOT NULL")).scalar_one()
        if migrated:
            migrate.grant(engine, APP_ROLE)
    except GrantError as error:
        _fail(str(error))
    finally:
        engine.dispose()


@db.command("stop")
def db_stop() -> None:
    """Stop fieldnav's private PostgreSQL."""
    _embedded_or_exit().stop()
    click.echo("database stopped")


@db.command("status")
def db_status() -> None:
    """Say whether the database is reachable (exit 1 when it is not)."""
    from sqlalchemy import text

    from service.platform.db import database_url, make_engine

    if not database_settings().database_url:
        status = _embedded_or_exit().status()
        click.echo(
            f"private cluster: {'running' if status.running else 'stopped'}, port {status.port}, data {status.data_dir}"
        )
        if not status.running:
            sys.exit(1)
    try:
        engine = make_engine(database_url(), pool_size=1)
        with engine.connect() as connection:
            version = connection.execute(text("SELECT postgis_lib_version()")).scalar_one()
        click.echo(f"database reachable, PostGIS {version}")
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable" here
        _fail(f"database not reachable: {type(error).__name__}")


@db.command("url")
@click.option(
    "--migration", is_flag=True, help="The migration role's URL (owner of the schema) instead of the application's."
)
def db_url(migration: bool) -> None:
    """Print the database URL the API uses (it holds a password: keep it private)."""
    from service.platform.db import database_url, migration_database_url

    try:
        click.echo(migration_database_url() if migration else database_url())
    except RuntimeError as error:
        _fail(str(error))


@db.command("migrate")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to upgrade to.")
def db_migrate(revision: str) -> None:
    """Apply database migrations (as the migration role), then grant the application role
    what it needs (service/platform/grants.py)."""
    from service.platform import migrate
    from service.platform.db import app_role, migration_database_url, migration_engine
    from service.platform.grants import GrantError

    role = app_role()
    try:
        migrate.upgrade(migration_database_url(), revision, on_rebuilt=_echo_rebuilt, app_role=role)
    except GrantError as error:
        _fail(str(error))
    click.echo(f"database migrated to {migrate.current_revision(migration_engine())}")
    if role:
        click.echo(f"application role {role}: privileges granted")


@db.command("rebuild-sites")
def db_rebuild_sites() -> None:
    """Rebuild the derived service_site rows (nearest, tiles) from the HSDS tables."""
    from service.platform import migrate
    from service.platform.db import migration_engine

    migrate.rebuild_derived(migration_engine(), _echo_rebuilt)


@db.command("roll-hours")
def db_roll_hours() -> None:
    """Rebuild the dated hours (open ranges) of the sites built before today, so they do not
    run out between imports; `fieldnav worker` does it daily."""
    from service.directory import hours_roll
    from service.platform.db import migration_engine
    from service.platform.settings import import_settings

    click.echo(hours_roll.roll(migration_engine(), import_settings().default_timezone).summary_line())


def _echo_rebuilt(source: str, count: int) -> None:
    click.echo(f"built {count} service sites for source {source}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Undo migrations down to REVISION ('base' removes every fieldnav table)."""
    from service.platform import migrate
    from service.platform.db import migration_database_url

    migrate.downgrade(migration_database_url(), revision)
    click.echo(f"database downgraded to {revision}")


# --- data ---------------------------------------------------------------------------------


def _print_report(report, max_problems: int) -> None:
    for problem in report.problems[:max_problems]:
        click.echo(f"  {problem}", err=True)
    if len(report.problems) > max_problems:
        click.echo(f"  ... and {len(report.problems) - max_problems} more problems", err=True)
    if report.ignored_files:
        click.echo(f"  not stored by fieldnav: {', '.join(report.ignored_files)}", err=True)
    click.echo(report.summary_line())


@main.command("import")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option(
    "--source", help="Name of the source (default: the file or folder name). Re-imports of a source replace it."
)
@click.option("--strict", is_flag=True, help="Refuse the whole import if any row is bad.")
@click.option("--from-api", "from_api", metavar="URL", help="Pull another directory's HSDS 3 API instead of a file.")
@click.option(
    "--header",
    "headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="With --from-api: a header sent with every request (e.g. 'Authorization: Bearer ...'); repeatable.",
)
@click.option("--ndjson", is_flag=True, help="With --from-api: read /services as ndjson (format=ndjson), not pages.")
@click.option("--full", "force_full", is_flag=True, help="With --from-api: a full pull even if one is not due.")
@click.option(
    "--full-every",
    default=None,
    type=click.IntRange(1, 10_000),
    help="With --from-api: a full pull after this many incremental ones (default 24).",
)
def import_command(
    path: Path | None,
    source: str | None,
    strict: bool,
    from_api: str | None,
    headers: tuple[str, ...],
    ndjson: bool,
    force_full: bool,
    full_every: int | None,
) -> None:
    """Import HSDS data: a datapackage folder or .zip (HSDS 3.x or 1.x/2.x), or HSDS 3 JSON;
    or, with --from-api URL, another directory's HSDS 3 API."""
    from service.importer import ImportRefused, import_path
    from service.importer.remote import RemoteFailed
    from service.platform.db import migration_engine
    from service.platform.settings import import_settings

    limit = import_settings().max_reported_problems
    if (path is None) == (from_api is None):
        _fail("give either PATH or --from-api URL", 2)
    if from_api is None and (headers or ndjson or force_full or full_every):
        _fail("--header, --ndjson, --full and --full-every go with --from-api", 2)
    try:
        if from_api is not None:
            _pull_command(from_api, source, strict, headers, ndjson, force_full, full_every, limit)
            return
        assert path is not None
        report = import_path(migration_engine(), path, source=source, strict=strict)
    except ImportRefused as refused:
        for problem in refused.problems[:limit]:
            click.echo(f"  {problem}", err=True)
        # A remote that failed is 1 (try again later); a refused import 2, as ever.
        _fail(str(refused), 1 if isinstance(refused, RemoteFailed) else 2)
    _print_report(report, limit)


def _pull_command(
    url: str,
    source: str | None,
    strict: bool,
    header_lines: tuple[str, ...],
    ndjson: bool,
    force_full: bool,
    full_every: int | None,
    limit: int,
) -> None:
    from service.importer import pull, remote, sources
    from service.platform.db import migration_engine
    from service.platform.settings import pull_settings

    settings = pull_settings()
    try:
        headers = dict(remote.parse_header(line) for line in (settings.auth_header or "", *header_lines) if line)
    except ValueError as error:
        _fail(f"--header: {error}", 2)
    report = pull.pull(
        migration_engine(),
        url,
        source=source or remote.default_source_name(url),
        settings=settings,
        headers=headers,
        ndjson=ndjson,
        full_every=full_every or sources.DEFAULT_FULL_EVERY,
        force_full=force_full,
        strict=strict,
    )
    if report.imported is not None:
        for problem in report.imported.problems[:limit]:
            click.echo(f"  {problem}", err=True)
        if len(report.imported.problems) > limit:
            click.echo(f"  ... and {len(report.imported.problems) - limit} more problems", err=True)
    click.echo(report.summary_line())


@main.command("demo-data")
@click.option("--services", "count", default=5000, show_default=True, type=click.IntRange(1, 2_000_000))
@click.option("--seed", default=42, show_default=True, type=int)
@click.option("--out", type=click.Path(path_type=Path), help="Write ndjson here instead of importing it.")
@click.option("--if-empty", is_flag=True, help="Only load when the database holds no services.")
@click.option(
    "--fixed-dates",
    is_flag=True,
    help="Date the data at the seed's fixed instant in 2025 (the same bytes every run), not now.",
)
def demo_data(count: int, seed: int, out: Path | None, if_empty: bool, fixed_dates: bool) -> None:
    """Generate a realistic Ontario data set (and import it as source 'demo').

    Dated from now by default, so bed counts are hours old (and some stale) as in real life."""
    from datetime import datetime

    from service.directory.demo_data import write_ndjson

    reference = None if fixed_dates else datetime.now(UTC)
    if out is not None:
        written = write_ndjson(out, count, seed, reference=reference)
        click.echo(f"wrote {written} services to {out}")
        return
    from sqlalchemy import text

    from service.importer import import_path
    from service.platform.db import migration_engine

    engine = migration_engine()
    if if_empty:
        with engine.connect() as connection:
            if connection.execute(text("SELECT EXISTS (SELECT 1 FROM service)")).scalar_one():
                click.echo("demo data: the database already holds services; left as it is")
                return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "demo.ndjson"
        write_ndjson(path, count, seed, reference=reference)
        report = import_path(engine, path, source="demo")
    _print_report(report, 20)


# --- identity -----------------------------------------------------------------------------


def _parse_ttl(value: str):
    from datetime import timedelta

    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = value[:-1], value[-1:].lower()
    if unit not in units or not number.replace(".", "", 1).isdigit():
        raise click.BadParameter("use a number and a unit: 90m, 8h, 2d")
    return timedelta(seconds=float(number) * units[unit])


@main.group()
def token() -> None:
    """Bearer tokens signed by fieldnav's own key (development, agencies without an IdP)."""


@token.command("create")
@click.option("--agency", required=True, help="Agency id (a navigator's agency is its centre id).")
@click.option(
    "--role", required=True, type=click.Choice(["field_worker", "supervisor", "navigator", "admin", "provider"])
)
@click.option("--subject", required=True, help="The user's stable id at that agency (not their name).")
@click.option("--ttl", default="8h", show_default=True, help="Lifetime: 90m, 8h, 2d ...")
def token_create(agency: str, role: str, subject: str, ttl: str) -> None:
    """Print a signed token (on stdout) and its id (on stderr, for revocation)."""
    from service.auth.principal import Role
    from service.auth.tokens import create_token

    try:
        signed, token_id = create_token(agency=agency, role=Role(role), subject=subject, ttl=_parse_ttl(ttl))
    except ValueError as error:
        _fail(str(error), 2)
    click.echo(signed)
    click.echo(f"token id (jti): {token_id}", err=True)


@token.command("revoke")
@click.argument("jti")
@click.option("--reason", default=None, help="Why, for the record (e.g. 'device lost').")
def token_revoke(jti: str, reason: str | None) -> None:
    """Revoke a token by its id; every worker refuses it within FIELDNAV_AUTH_REVOCATION_CACHE_S."""
    from service.auth.revocation import revoke
    from service.platform.db import default_engine

    with default_engine().begin() as connection:
        newly = revoke(connection, jti, reason=reason)
    click.echo(f"token {jti} {'revoked' if newly else 'was already revoked'}")


@token.command("devices")
@click.option("--subject", default=None, help="Only this user's devices.")
@click.option("--agency", default=None, help="Only this agency's devices.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
def token_devices(subject: str | None, agency: str | None, limit: int) -> None:
    """List devices registered for refresh (POST /v1/auth/devices), newest first."""
    from service.auth.devices import list_devices
    from service.platform.db import default_engine

    with default_engine().connect() as connection:
        rows = list_devices(connection, subject=subject, agency=agency, limit=limit)
    for row in rows:
        until = (
            f"revoked {row['revoked_at']} ({row['revoked_reason']})"
            if row["revoked_at"]
            else f"until {row['expires_at']}"
        )
        click.echo(
            f"{row['device_id']}  {row['state']:<7}  {row['role']} {row['subject']} of {row['agency']} "
            f"({row['issuer']}), last used {row['last_used_at'] or 'never'}, {until}"
        )
    if not rows:
        click.echo("no devices")


@token.command("revoke-device")
@click.argument("device_id")
@click.option("--reason", required=True, help="Why, for the record (e.g. 'phone stolen').")
def token_revoke_device(device_id: str, reason: str) -> None:
    """Revoke a device and its current access token (refused by every worker within
    FIELDNAV_AUTH_REVOCATION_CACHE_S)."""
    import uuid

    from service.auth.devices import revoke
    from service.platform.db import default_engine

    try:
        parsed = uuid.UUID(device_id)
    except ValueError:
        raise click.BadParameter("not a device id (a UUID)", param_hint="DEVICE_ID") from None
    with default_engine().begin() as connection:
        device = revoke(connection, parsed, reason)
    if device is None:
        _fail(f"no device {device_id}")
    click.echo(f"device {device_id} revoked ({device['revoked_reason']}), with its current access token")


# --- handoffs -----------------------------------------------------------------------------


def _parse_moment(value: str | None, name: str):
    from datetime import datetime

    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{name} must be an ISO 8601 date or time, e.g. 2026-11-01 or 2026-11-01T08:00-05:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@main.group()
def centres() -> None:
    """Navigator centres (211): who serves which area, their line, hours and webhook."""


@centres.command("load")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
def centres_load(file: Path) -> None:
    """Load (insert or update) the centres of a JSON/YAML FILE in one transaction."""
    from service.handoffs.centres import CentreFileError, load_centres
    from service.platform.db import migration_engine
    from service.platform.settings import handoff_settings

    try:
        loaded = load_centres(migration_engine(), file)
    except CentreFileError as error:
        for problem in error.problems:
            click.echo(f"  {problem}", err=True)
        _fail(f"{file}: nothing was loaded", 2)
    for centre_id, created in loaded:
        click.echo(f"  {centre_id}: {'added' if created else 'updated'}")
    default = handoff_settings().default_centre
    click.echo(f"loaded {len(loaded)} navigator centres from {file.name}")
    from sqlalchemy import text

    with migration_engine().connect() as connection:
        if not connection.execute(
            text("SELECT EXISTS (SELECT 1 FROM navigator_centre WHERE id = :id)"), {"id": default}
        ).scalar_one():
            click.echo(
                f"warning: the default centre {default!r} (FIELDNAV_HANDOFF_DEFAULT_CENTRE) is not loaded; "
                "handoffs outside every centre's area will be refused",
                err=True,
            )


@centres.command("list")
def centres_list() -> None:
    """List the centres loaded."""
    from service.handoffs.centres import list_centres
    from service.platform.db import default_engine

    with default_engine().connect() as connection:
        rows = list_centres(connection)
    for row in rows:
        click.echo(
            f"{row['id']}{' (default)' if row['default'] else ''}: {row['name_en']} / {row['name_fr']}, line {row['phone']}, "
            f"{row['area_km2']:.0f} km², webhook {'yes' if row['has_webhook'] else 'no'}, {row['open_handoffs']} open handoffs"
        )
    if not rows:
        click.echo("no navigator centres loaded (fieldnav centres load FILE)")


@main.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be removed; change nothing.")
def purge_command(dry_run: bool) -> None:
    """Remove handoff personal data FIELDNAV_HANDOFF_RETENTION_DAYS after the handoff closed
    (anonymous statistics stay), expired idempotency keys, old delivered webhook events, and
    field reports resolved more than FIELDNAV_REPORTS_RETENTION_DAYS ago, shares
    FIELDNAV_SHARES_GONE_DAYS after they expired and share recipients kept past
    FIELDNAV_SHARES_RECIPIENT_RETENTION_H."""
    from service.handoffs import purge
    from service.platform.db import default_engine
    from service.platform.settings import handoff_settings, report_settings, share_settings
    from service.reports import purge as reports_purge
    from service.shares import purge as shares_purge

    retention_days = handoff_settings().retention_days
    reports_days = report_settings().retention_days
    if dry_run:
        click.echo(purge.count_due(default_engine(), retention_days).summary_line(dry_run=True))
        click.echo(
            reports_purge.summary_line(
                reports_purge.count_due(default_engine(), reports_days), reports_days, dry_run=True
            )
        )
        click.echo(shares_purge.count_due(default_engine(), share_settings()).summary_line(dry_run=True))
        return
    click.echo(purge.purge(default_engine(), retention_days).summary_line())
    click.echo(reports_purge.summary_line(reports_purge.purge(default_engine(), reports_days), reports_days))
    click.echo(shares_purge.purge(default_engine(), share_settings()).summary_line())


@main.command("worker")
@click.option(
    "--once",
    is_flag=True,
    help="Deliver what is due now (and run the pulls that are due, and the hours roll), then exit.",
)
@click.option(
    "--requeue-dead",
    is_flag=True,
    help="Put dead-lettered webhook events and share messages (those still holding their recipient) back in the "
    "queue, then exit.",
)
def worker_command(once: bool, requeue_dead: bool) -> None:
    """Deliver webhook events to the navigator centres (signed, retried with backoff) and the
    shares' SMS and emails (service/shares/delivery.py), pull
    the HSDS APIs of FIELDNAV_SOURCES_FILE on their schedule, and roll the dated hours of the
    sites forward once a day (`fieldnav db roll-hours`)."""
    import logging
    import signal
    import threading

    from service.directory import hours_roll
    from service.handoffs import webhooks
    from service.importer import schedule, sources
    from service.platform.db import default_engine, migration_engine
    from service.platform.observability.logs import SafeFormatter
    from service.platform.settings import handoff_settings, import_settings, pull_settings
    from service.shares import delivery as share_delivery

    handler = logging.StreamHandler()
    handler.setFormatter(SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))  # no database values
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    engine = default_engine()
    if requeue_dead:
        click.echo(f"re-queued {webhooks.requeue_dead(engine)} dead webhook events")
        click.echo(f"re-queued {share_delivery.requeue_dead(engine)} dead share messages")
        return
    settings = handoff_settings()
    sources_file = import_settings().sources_file
    if sources_file is not None:
        try:
            configured = sources.load_sources(sources_file)
        except sources.SourcesFileError as error:
            _fail(f"FIELDNAV_SOURCES_FILE: {error}", 2)
    if once:
        report = webhooks.run_once(engine, settings)
        click.echo(f"webhooks: {report.delivered} delivered, {report.retried} to retry, {report.dead} dead")
        click.echo(share_delivery.run_once(engine).summary_line())
        if sources_file is not None:
            # Pulls write the directory, as imports do: the migration role's engine.
            schedule.run_due(migration_engine(), configured, pull_settings())
        click.echo(hours_roll.roll(migration_engine(), import_settings().default_timezone).summary_line())
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if sources_file is not None:
        # A thread of its own: a pull may take minutes, deliveries must not wait for it.
        pulls = schedule.start_thread(migration_engine(), sources_file, pull_settings(), stop)
        click.echo(f"scheduled pulls: {len(configured)} sources from {sources_file}")
    # The roll writes the directory too; a thread of its own, as pulls have.
    rolls = hours_roll.start_thread(migration_engine(), import_settings().default_timezone, stop)
    click.echo("hours roll: at start, then each time the date changes")
    click.echo(f"webhook worker running (poll every {settings.worker_poll_s:g} s); Ctrl-C to stop")
    webhooks.run_forever(engine, settings, stop, also=[lambda: share_delivery.run_once(engine)])
    if sources_file is not None:
        pulls.join(timeout=5)  # a pull still running is rolled back when the process exits
    rolls.join(timeout=5)  # as is a roll
    click.echo("webhook worker stopped")


@main.group()
def handoffs() -> None:
    """Handoff encryption keys."""


@handoffs.command("rotate-keys")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
def handoffs_rotate_keys(batch_size: int) -> None:
    """Re-encrypt all handoff personal data with the active (first) key. Put the new key first
    in FIELDNAV_HANDOFF_KEYS (or the key file), run this, then remove the old key."""
    from service.handoffs import rotation
    from service.handoffs.crypto import KeyRingError, key_ring
    from service.platform.db import default_engine

    try:
        ring = key_ring()
        report = rotation.rotate(default_engine(), ring, batch_size=batch_size)
    except KeyRingError as error:
        _fail(str(error))
    click.echo(report.summary_line())
    if len(ring.keys) > 1:
        click.echo(f"all values are on the active key: the {len(ring.keys) - 1} older key(s) may now be removed")


@handoffs.command("generate-key")
def handoffs_generate_key() -> None:
    """Print a new Fernet key (to put first in FIELDNAV_HANDOFF_KEYS for a rotation)."""
    from service.handoffs.crypto import generate_key

    click.echo(generate_key())


@main.group()
def audit() -> None:
    """The audit log of handoff personal data."""


@audit.command("export")
@click.option("--since", help="ISO 8601 date or time (inclusive); default: the beginning.")
@click.option("--until", help="ISO 8601 date or time (exclusive); default: now.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False), help="File to write.")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), help="Default: from the file name (.csv, else JSON lines)."
)
def audit_export(since: str | None, until: str | None, out: Path, fmt: str | None) -> None:
    """Export audit entries (who, what, when, why) as CSV or JSON lines; the export is itself audited."""
    from service.handoffs import audit as audit_log
    from service.platform.db import default_engine

    fmt = fmt or ("csv" if out.suffix.lower() == ".csv" else "jsonl")
    count = audit_log.export(
        default_engine(), out, since=_parse_moment(since, "--since"), until=_parse_moment(until, "--until"), fmt=fmt
    )
    click.echo(f"exported {count} audit entries to {out} ({fmt})")


# --- server -------------------------------------------------------------------------------


MALLOC_ARENA_MAX = 2


@main.command("serve")
@click.option("--host", default=None, help="Interface to bind (default FIELDNAV_HOST, 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default FIELDNAV_PORT, 8000).")
@click.option(
    "--workers", default=None, type=click.IntRange(1, 64), help="Worker processes (default FIELDNAV_WORKERS, 1)."
)
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the HTTP API in the foreground."""
    import os
    import shutil

    import uvicorn

    from service.platform.observability.logs import configure as configure_logs
    from service.platform.settings import path_settings

    settings = api_settings()
    worker_count = workers or settings.workers
    if worker_count > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several processes: each writes its metrics to files that /metrics adds up.
        metrics_dir = path_settings().home / f"metrics-{os.getpid()}"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    # Worker processes (started afresh, so glibc reads this) keep to two malloc arenas: with
    # one per thread of the request thread pool, a worker's heap kept growing under load with
    # nothing more to cache (+12% in 2 min; +6%, flat after the first 20 s, with 2: bench/load.py).
    os.environ.setdefault("MALLOC_ARENA_MAX", str(MALLOC_ARENA_MAX))
    configure_logs()
    # X-Forwarded-For/-Proto only from the proxies listed: uvicorn's default (FORWARDED_ALLOW_IPS,
    # 127.0.0.1) let anything on the host rotate its address past the anonymous rate limit.
    proxies = settings.trusted_proxy_list()
    uvicorn.run(
        "service.api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=worker_count,
        # httptools, with a cap on the request head (service/api/http_protocol.py).
        http="service.api.http_protocol:LimitedHttpToolsProtocol",
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        access_log=False,  # our own middleware logs requests without personal data or query strings
        log_config=None,  # keep our JSON logging
        log_level="info",
    )


# These commands live beside their code; each module adds its group to `main`.
cli_packs.register(main)
cli_export.register(main)
cli_providers.register(main)
cli_places.register(main)
cli_areas.register(main)

if __name__ == "__main__":
    main()
