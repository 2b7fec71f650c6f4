"""`fieldnav areas load|list`: the named boundaries service areas are matched to
(service/areas/boundaries.py). Registered on the main command by ``register(main)``."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group()
def areas() -> None:
    """Service areas: the named boundaries (provinces, regions, cities, postal prefixes) they are matched to."""


@areas.command("load")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--replace", is_flag=True, help="Remove every loaded boundary first (else same name and kind: replaced).")
def areas_load(file: Path, replace: bool) -> None:
    """Load the named (Multi)Polygons of a GeoJSON FILE (properties name, kind, aliases) in
    one transaction, then match every source's named service areas again."""
    from service.areas import boundaries
    from service.platform.db import migration_engine

    try:
        report = boundaries.load(migration_engine(), file, replace=replace)
    except boundaries.BoundariesRefused as error:
        click.echo(f"fieldnav: {file}: {error}", err=True)
        sys.exit(2)
    for problem in report.problems:
        click.echo(f"  {problem} (left out)", err=True)
    for unmatched in report.unmatched[:20]:
        click.echo(f"  {unmatched.reason}", err=True)
    if len(report.unmatched) > 20:
        click.echo(f"  ... and {len(report.unmatched) - 20} more unmatched names", err=True)
    click.echo(report.summary_line())


@areas.command("list")
def areas_list() -> None:
    """List the boundaries loaded, and how the service areas' shapes are known."""
    from service.areas import boundaries
    from service.platform.db import default_engine

    with default_engine().connect() as connection:
        rows = boundaries.listing(connection)
        counts = boundaries.area_counts(connection)
    for row in rows:
        aliases = f" (also {', '.join(row['aliases'])})" if row["aliases"] else ""
        click.echo(
            f"{row['kind']}: {row['name']}{aliases}, {row['area_km2']} km², {row['points']} points, "
            f"{row['matched']} service areas; from {row['loaded_from']} at {row['loaded_at']:%Y-%m-%d %H:%M}"
        )
    if not rows:
        click.echo("no boundaries loaded (fieldnav areas load FILE)")
    click.echo(
        f"service areas: {counts.get('extent', 0)} from their extent, {counts.get('named', 0)} by name, "
        f"{counts.get('unknown', 0)} unknown"
    )


def register(main: click.Group) -> None:
    main.add_command(areas)
