"""`fieldnav export`: the whole directory as HSDS 3.0, a file that travels (a backup is
pg_dump's job). Registered on the main command by ``register(main)`` in service/cli.py."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # imported when the command runs: `fieldnav --help` stays quick
    from sqlalchemy import Engine

    from service.hsds.serialize import Serializer

FORMATS = ("hsds-ndjson", "hsds-datapackage")


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True, help="What to write (README: Export).")
@click.argument("path", type=click.Path(path_type=Path))
def export(fmt: str, path: Path) -> None:
    """Export the directory as HSDS 3.0: compiled services as ndjson, or a tabular datapackage
    (a folder, or a .zip when PATH ends in .zip). Confidential sites as the HSDS API shows them."""
    from sqlalchemy.exc import OperationalError

    from service.hsds.serialize import Serializer
    from service.platform.db import default_engine
    from service.platform.settings import import_settings

    # Schedules' UTC offsets as they are now, as the HSDS API writes them.
    serializer = Serializer(at=datetime.now(UTC), default_zone=import_settings().default_timezone)
    started_s = time.monotonic()
    if fmt == "hsds-ndjson" and path.is_dir():
        raise click.UsageError(f"{path} is a folder: give a file's path")
    try:
        what = _export(fmt, path, default_engine(), serializer)
    except OperationalError as error:  # the database is down or unreachable: say so, not a traceback
        raise click.ClickException(f"the database is not reachable, nothing was written: {error.orig}") from None
    except OSError as error:
        raise click.ClickException(f"{error}; nothing was written to {path}") from None
    click.echo(f"exported {what} to {path} ({fmt}) in {time.monotonic() - started_s:.1f} s")


def _export(fmt: str, path: Path, engine: Engine, serializer: Serializer) -> str:
    """Write the export; what it holds, for the summary line."""
    if fmt == "hsds-ndjson":
        from service.hsds.export import export_ndjson

        return f"{export_ndjson(engine, path, serializer)} services"
    from service.hsds.tabular_export import ExportRefused, export_datapackage

    try:
        rows = export_datapackage(engine, path, serializer)
    except ExportRefused as refused:
        raise click.UsageError(str(refused)) from None
    return ", ".join(f"{n} {table}" for table, n in rows.items())


def register(main: click.Group) -> None:
    """Add `export` to the `fieldnav` command."""
    main.add_command(export)
