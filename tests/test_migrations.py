"""Migrations go up and down on a real PostGIS."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from service import migrate

HSDS_TABLES = {
    "organization", "service", "location", "service_at_location", "address", "phone", "schedule",
    "taxonomy", "taxonomy_term", "attribute", "language", "accessibility", "service_area",
    "service_capacity", "unit", "change_log", "data_version", "import_run",
}


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"spatial_ref_sys"}
    finally:
        engine.dispose()


def test_upgrade_creates_the_model_and_downgrade_removes_it(empty_database_url):
    migrate.upgrade(empty_database_url)
    assert HSDS_TABLES <= _tables(empty_database_url)

    engine = create_engine(empty_database_url)
    with engine.connect() as connection:
        geom_type = connection.execute(text(
            "SELECT type, srid FROM geometry_columns WHERE f_table_name = 'location' AND f_geometry_column = 'geom'"
        )).one()
        assert tuple(geom_type) == ("POINT", 4326)
        index_def = connection.execute(text(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'location' AND indexname = 'location_geom_gist'"
        )).scalar_one()
        assert "USING gist (geom)" in index_def
        h3_columns = {c["name"] for c in inspect(connection).get_columns("location") if c["name"].startswith("h3_")}
        assert h3_columns == {f"h3_r{r}" for r in range(4, 10)}
        assert connection.execute(text("SELECT version FROM data_version")).scalar_one() == 0
    assert migrate.is_current(engine)
    engine.dispose()

    migrate.downgrade(empty_database_url, "base")
    assert not (HSDS_TABLES & _tables(empty_database_url))

    migrate.upgrade(empty_database_url)  # and up again, from nothing
    assert HSDS_TABLES <= _tables(empty_database_url)


def test_readiness_knows_when_migrations_are_pending(empty_database_url):
    engine = create_engine(empty_database_url)
    try:
        assert not migrate.is_current(engine)
        migrate.upgrade(empty_database_url)
        assert migrate.is_current(engine)
    finally:
        engine.dispose()
