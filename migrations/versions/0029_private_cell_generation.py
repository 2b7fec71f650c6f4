"""private_cell_state: a generation that changes with every write to private_cell.

Nearest keeps the centres of the confidential cells in each process, so that it skips its
confidential part when no cell lies within the public answer's reach (issue 21; 0.08-0.14 ms
of a 0.4 ms statement where nothing confidential is near). The public statement reads the
generation in its own snapshot; a process whose copy has another generation reads the cells
again (service/directory/private_cells.py). A statement-level trigger moves it, so every
writer is covered (sites.rebuild_sites, migrations, a test's own SQL) and it moves in the
writer's transaction: a reader sees the new generation exactly when it sees the new cells.
A random UUID rather than a counter: two databases (a test's, a copy of a template) never
share a generation for different cells.

Revision ID: 0029_private_cell_generation
Revises: 0028_nearest_mercator_walk
"""

from __future__ import annotations

from alembic import op

revision = "0029_private_cell_generation"
down_revision = "0028_nearest_mercator_walk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE private_cell_state (
            id smallint PRIMARY KEY CHECK (id = 1),
            generation uuid NOT NULL
        )
    """)
    op.execute("INSERT INTO private_cell_state (id, generation) VALUES (1, gen_random_uuid())")
    op.execute("""
        CREATE FUNCTION fieldnav_private_cell_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE private_cell_state SET generation = gen_random_uuid() WHERE id = 1;
            RETURN NULL;
        END
        $$
    """)
    op.execute("""
        CREATE TRIGGER private_cell_changed
        AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON private_cell
        FOR EACH STATEMENT EXECUTE FUNCTION fieldnav_private_cell_changed()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER private_cell_changed ON private_cell")
    op.execute("DROP FUNCTION fieldnav_private_cell_changed()")
    op.execute("DROP TABLE private_cell_state")
