"""Migrations go up and down on a real PostGIS."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from service.platform import migrate

HSDS_TABLES = {
    "organization",
    "service",
    "location",
    "service_at_location",
    "address",
    "phone",
    "schedule",
    "taxonomy",
    "taxonomy_term",
    "attribute",
    "language",
    "accessibility",
    "service_area",
    "service_capacity",
    "unit",
    "change_log",
    "data_version",
    "import_run",
}


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"spatial_ref_sys"}
    finally:
        engine.dispose()


def test_upgrade_creates_the_model_and_downgrade_removes_it(empty_database_url):
    migrate.upgrade(empty_database_url)
    assert _tables(empty_database_url) >= HSDS_TABLES

    engine = create_engine(empty_database_url)
    with engine.connect() as connection:
        geom_type = connection.execute(
            text(
                "SELECT type, srid FROM geometry_columns WHERE f_table_name = 'location' AND f_geometry_column = 'geom'"
            )
        ).one()
        assert tuple(geom_type) == ("POINT", 4326)
        index_def = connection.execute(
            text("SELECT indexdef FROM pg_indexes WHERE tablename = 'location' AND indexname = 'location_geom_gist'")
        ).scalar_one()
        assert "USING gist (geom)" in index_def
        h3_columns = {c["name"] for c in inspect(connection).get_columns("location") if c["name"].startswith("h3_")}
        assert h3_columns == {f"h3_r{r}" for r in range(4, 10)}
        assert connection.execute(text("SELECT version FROM data_version")).scalar_one() == 0
    assert migrate.is_current(engine)
    engine.dispose()

    migrate.downgrade(empty_database_url, "base")
    assert not (HSDS_TABLES & _tables(empty_database_url))

    migrate.upgrade(empty_database_url)  # and up again, from nothing
    assert _tables(empty_database_url) >= HSDS_TABLES


def test_readiness_knows_when_migrations_are_pending(empty_database_url):
    engine = create_engine(empty_database_url)
    try:
        assert not migrate.is_current(engine)
        migrate.upgrade(empty_database_url)
        assert migrate.is_current(engine)
    finally:
        engine.dispose()


def test_an_upgrade_of_a_loaded_database_rebuilds_sites_and_map_points(database_url, tmp_path):
    """Derived rows follow the schema: moving a database with data to the head rebuilds them,
    whoever runs the migration (`fieldnav db migrate`, the test setup, the benches)."""
    from service.directory.demo_data import write_ndjson
    from service.importer import import_path

    path = tmp_path / "demo.ndjson"
    write_ndjson(path, 120, 5)
    engine = create_engine(database_url)
    try:
        import_path(engine, path, source="demo")
        with engine.begin() as connection:
            public = connection.execute(
                text(
                    "SELECT count(*) FROM service_site WHERE NOT is_private AND status = 'active' AND geom IS NOT NULL"
                )
            ).scalar_one()
            assert connection.execute(text("SELECT count(*) FROM map_point")).scalar_one() == public > 0
        migrate.downgrade(database_url, "0005_handoffs")
        with engine.begin() as connection:  # as an older build left it: cluster cells not derived yet
            connection.execute(text("UPDATE service_site SET h3_r8 = NULL"))
        rebuilt = []
        migrate.upgrade(database_url, on_rebuilt=lambda source, sites: rebuilt.append((source, sites)))
        with engine.connect() as connection:
            sites = connection.execute(text("SELECT count(*) FROM service_site")).scalar_one()
            assert rebuilt == [("demo", sites)]
            assert (
                connection.execute(
                    text(
                        "SELECT count(*) FROM service_site WHERE h3_r8 IS NULL AND geom IS NOT NULL AND NOT is_private"
                    )
                ).scalar_one()
                == 0
            )
            assert connection.execute(text("SELECT count(*) FROM map_point")).scalar_one() == public
            assert (
                connection.execute(
                    text(
                        "SELECT count(*) FROM map_point m JOIN service_site s ON s.id = m.site_id "
                        "WHERE s.is_private OR m.name <> left(s.card ->> 'name', 80)"
                    )
                ).scalar_one()
                == 0
            )
        # Already at the head: nothing to rebuild.
        migrate.upgrade(database_url, on_rebuilt=lambda source, sites: rebuilt.append((source, sites)))
        assert len(rebuilt) == 1
    finally:
        engine.dispose()
