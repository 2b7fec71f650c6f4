"""Alembic, driven from code: `fieldnav db migrate`, readiness checks and tests use this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic's config is ConfigParser-based: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head", *, on_rebuilt=None, app_role: str | None = None) -> None:
    """Apply migrations up to ``revision`` as the role of ``url`` (the migration role). When
    that moves an existing database to the head, the derived rows (service_site, map_point)
    are rebuilt from the HSDS tables, as a new schema may derive them differently;
    ``on_rebuilt(source, sites)`` hears of each source. Then, with ``app_role``, that role
    gets its privileges on the schema as it now is (service/platform/grants.py), every time."""
    engine = create_engine(url, poolclass=NullPool, hide_parameters=True)
    try:
        before = current_revision(engine)
        command.upgrade(alembic_config(url), revision)
        after = current_revision(engine)
        if before is not None and after != before and after == head_revision(url):
            rebuild_derived(engine, on_rebuilt)
        if app_role is not None:
            grant(engine, app_role)
    finally:
        engine.dispose()


def grant(engine: Engine, app_role: str) -> int:
    """Give the application role its privileges (service/platform/grants.py); idempotent."""
    from service.platform import grants

    return grants.apply(engine, app_role)


def rebuild_derived(engine: Engine, on_rebuilt=None) -> None:
    """Rebuild every source's service sites and map points, in one transaction, holding the
    import lock (an import rewrites the same tables)."""
    from service.directory import lock as directory_lock
    from service.directory import sites
    from service.platform.settings import import_settings

    with engine.begin() as connection:
        directory_lock.hold(connection)
        for source in sites.all_sources(connection):
            count = sites.rebuild_sites(connection, source, import_settings().default_timezone)
            if on_rebuilt is not None:
                on_rebuilt(source, count)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_current(engine: Engine) -> bool:
    url = engine.url.render_as_string(hide_password=False)
    return current_revision(engine) == head_revision(url)
