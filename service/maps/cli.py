"""`fieldnav packs gc` and `fieldnav sync prune`: housekeeping for offline packs and sync.

Registered on the main command by ``register(main)`` in service/cli.py. Both are safe to run
at any time (cron, a systemd timer) while the API serves: see service/maps/packs/gc.py and
service/maps/sync.py for what they remove and why.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click


@click.group()
def packs() -> None:
    """Offline packs (PMTiles archives and service snapshots)."""


@packs.command("gc")
@click.option(
    "--keep-days",
    type=float,
    default=None,
    help="Remove packs unused for this many days (default FIELDNAV_PACKS_KEEP_DAYS, 14).",
)
def packs_gc(keep_days: float | None) -> None:
    """Remove unused and superseded packs, and files no pack refers to."""
    from service.maps.packs import collect_garbage, pack_dir
    from service.platform.db import default_engine
    from service.platform.settings import pack_settings

    settings = pack_settings()
    directory = pack_dir(settings)
    with default_engine().begin() as connection:
        collected = collect_garbage(
            connection,
            directory,
            datetime.now(UTC),
            keep_days if keep_days is not None else settings.keep_days,
        )
    click.echo(f"removed {collected.packs} packs and {collected.files} files from {directory}")


@click.group()
def sync() -> None:
    """Delta sync (the change log behind /v1/sync/services)."""


@sync.command("prune")
@click.option(
    "--retention-days",
    type=float,
    default=None,
    help="Keep this many days of changes (default FIELDNAV_SYNC_RETENTION_DAYS, 30).",
)
def sync_prune(retention_days: float | None) -> None:
    """Delete change-log entries older than the retention; older cursors then get 410 Gone."""
    from service.maps.sync import prune_change_log
    from service.platform.db import default_engine
    from service.platform.settings import sync_settings

    days = retention_days if retention_days is not None else sync_settings().retention_days
    with default_engine().begin() as connection:
        deleted = prune_change_log(connection, datetime.now(UTC), days)
    click.echo(f"pruned {deleted} change-log entries older than {days:g} days")


def register(main: click.Group) -> None:
    """Add `packs` and `sync` to the `fieldnav` command."""
    main.add_command(packs)
    main.add_command(sync)


if __name__ == "__main__":  # python -m service.maps.cli packs gc (until registered in service/cli.py)
    standalone = click.Group("fieldnav", help="fieldnav housekeeping commands.")
    register(standalone)
    standalone()
