"""`fieldnav export`: the whole directory as HSDS 3.0, a file that travels (a backup is
pg_dump's job). Registered on the main command by ``register(main)`` in service/cli.py."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import click

FORMATS = ("hsds-ndjson", "hsds-datapackage")


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True, help="What to write (README: Export).")
@click.argument("path", type=click.Path(path_type=Path))
def export(fmt: str, path: Path) -> None:
    """Export the directory as HSDS 3.0: compiled services as ndjson, or a tabular datapackage
    (a folder, or a .zip when PATH ends in .zip). Confidential sites as the HSDS API shows them."""
    from service.hsds.serialize import Serializer
    from service.platform.db import default_engine
    from service.platform.settings import import_settings

    # Schedules' UTC offsets as they are now, as the HSDS API writes them.
    serializer = Serializer(at=datetime.now(UTC), default_zone=import_settings().default_timezone)
    started_s = time.monotonic()
    if fmt == "hsds-ndjson":
        if path.is_dir():
            raise click.UsageError(f"{path} is a folder: give a file's path")
        from service.hsds.export import export_ndjson

        count = export_ndjson(default_engine(), path, serializer)
        what = f"{count} services"
    else:
        from service.hsds.tabular_export import ExportRefused, export_datapackage

        try:
            rows = export_datapackage(default_engine(), path, serializer)
        except ExportRefused as refused:
            raise click.UsageError(str(refused)) from None
        what = ", ".join(f"{n} {table}" for table, n in rows.items())
    click.echo(f"exported {what} to {path} ({fmt}) in {time.monotonic() - started_s:.1f} s")


def register(main: click.Group) -> None:
    """Add `export` to the `fieldnav` command."""
    main.add_command(export)
