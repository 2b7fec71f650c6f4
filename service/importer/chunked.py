"""Import a pull's spool file a chunk of services at a time, in one transaction, so a
catalogue of 100k services is never held whole in memory (the file import holds it all).

Each chunk goes through the file import's reader, validator and derivations, then is
written in place (service/importer/upsert.py). The remote's organizations (the spool's
first records) are read with every chunk, so a service that names its organization by id
finds it. A record another chunk already wrote (an organization, a location, a taxonomy
term shared by services) keeps its first version, as in a file import. A full import then
removes every row of the source it did not write (services gone upstream: tombstones); an
incremental one leaves them.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import Connection, Engine, text

from service.areas import resolve as areas
from service.directory import lock as directory_lock
from service.directory import sites
from service.importer import COUNT_PRESENT_SQL, ImportReport, derive, upsert, writer
from service.importer.fields import TABLES
from service.importer.readers import hsds_json
from service.importer.records import ImportRefused, RowProblem
from service.importer.validate import validate
from service.places import gazetteer
from service.platform.settings import import_settings

# Records shared by services: the first chunk to write one keeps it.
SHARED_TABLES = ("organization", "taxonomy", "taxonomy_term", "unit", "location")
SEEN = "pull_seen"


def _chunks(path: Path, skip: int, size: int) -> Iterator[tuple[int, list[bytes]]]:
    """(spool line of the chunk's first record, its lines) after the first ``skip`` lines."""
    with path.open("rb") as spool:
        for _ in range(skip):
            spool.readline()
        number, lines = skip + 1, []
        for line in spool:
            lines.append(line)
            if len(lines) == size:
                yield number, lines
                number, lines = number + len(lines), []
        if lines:
            yield number, lines


def import_spool(
    engine: Engine,
    path: Path,
    *,
    source: str,
    origin: str,
    leading_records: int,
    chunk_services: int,
    mode: Literal["full", "upsert"],
    strict: bool,
    started: float,
    started_at: datetime,
    in_transaction: Callable[[Connection, ImportReport], None],
) -> ImportReport:
    """``leading_records``: the organization records at the head of the spool, read with
    every chunk. Problems are numbered by spool line (the caller names the pages)."""
    with path.open("rb") as spool:
        leading = [spool.readline() for _ in range(leading_records)]
    problems: list[RowProblem] = []
    written: dict[str, set[uuid.UUID]] = {name: set() for name in SHARED_TABLES}
    upserts: list[uuid.UUID] = []
    added = 0
    area_origins: dict = {}  # where each service area was read (service/areas/resolve.py)
    with tempfile.TemporaryDirectory(prefix="fieldnav-chunk-") as folder, engine.begin() as connection:
        directory_lock.hold(connection)
        if mode == "full":
            connection.execute(
                text(f"CREATE TEMP TABLE {SEEN} (tbl text, id uuid, PRIMARY KEY (tbl, id)) ON COMMIT DROP")
            )
        chunk_path = Path(folder) / "chunk.ndjson"
        for index, (first_line, lines) in enumerate(_chunks(path, leading_records, chunk_services)):
            chunk_path.write_bytes(b"".join(leading) + b"".join(lines))
            data = hsds_json.read(chunk_path)
            valid = validate(data, source, import_settings().default_timezone)
            problems.extend(_renumbered(valid.problems, leading_records, first_line, keep_leading=index == 0))
            area_origins.update(areas.origins_of(data, first_line - leading_records - 1))
            derive.add_positions(valid)
            derive.add_categories_and_hashes(valid)
            for name in SHARED_TABLES:
                rows = valid.rows(name)
                for row_id in [i for i in rows if i in written[name]]:
                    del rows[row_id]
                written[name].update(rows)
            added += _new_services(connection, list(valid.rows("service")), source)
            upserts.extend(upsert.write_services(connection, valid, source, seen=SEEN if mode == "full" else None))
        if strict and problems:
            # Every chunk read, so every bad row is listed; the transaction is rolled back.
            raise ImportRefused(f"{len(problems)} bad rows and --strict is set; nothing was imported", problems)
        deletes = _remove_unseen(connection, source) if mode == "full" else []
        version = writer._record_changes(connection, source, sorted(upserts, key=str), sorted(deletes, key=str))
        counts = _counts(connection, source)
        problems.extend(areas.resolve_source(connection, source, area_origins))  # before the sites (service/areas/)
        counts["service_site"] = sites.rebuild_sites(connection, source, import_settings().default_timezone)
        gazetteer.rebuild(connection, source)  # its public addresses as places (service/places/)
        writer.record_run(
            connection,
            source=source,
            format="hsds-3-json",
            path=origin,
            started_at=started_at,
            data_version=version,
            counts=counts,
            problem_count=len(problems),
        )
        report = ImportReport(
            source=source,
            format="hsds-3-json",
            counts=counts,
            problems=problems,
            upserted=len(upserts),
            deleted=len(deletes),
            data_version=version,
            duration_s=time.monotonic() - started,
            added=added,
        )
        in_transaction(connection, report)
    report.duration_s = time.monotonic() - started
    return report


def _renumbered(problems: list[RowProblem], leading: int, first_line: int, *, keep_leading: bool) -> list[RowProblem]:
    """Chunk record numbers -> spool lines; the leading records' problems once only."""
    kept = []
    for problem in problems:
        if problem.row <= leading:
            if keep_leading:
                kept.append(problem)
            continue
        kept.append(replace(problem, row=first_line + problem.row - leading - 1))
    return kept


def _new_services(connection: Connection, ids: list[uuid.UUID], source: str) -> int:
    present = connection.execute(text(COUNT_PRESENT_SQL), {"source": source, "ids": ids}).scalar_one()
    return len(ids) - present


def _remove_unseen(connection: Connection, source: str) -> list[uuid.UUID]:
    """Every row of the source this import did not write, children first; returns the
    services removed (their tombstones)."""
    deleted: list[uuid.UUID] = []
    connection.execute(text(f"ANALYZE {SEEN}"))  # a temporary table has no statistics until then
    for table in reversed(TABLES):
        result = connection.execute(
            text(
                f'DELETE FROM "{table.name}" t WHERE source = :source '  # names from fields.py
                f"AND NOT EXISTS (SELECT 1 FROM {SEEN} s WHERE s.tbl = :tbl AND s.id = t.id) RETURNING id"
            ),
            {"source": source, "tbl": table.name},
        )
        ids = list(result.scalars())
        if table.name == "service":
            deleted = ids
    return deleted


def _counts(connection: Connection, source: str) -> dict[str, int]:
    counts = {}
    for table in TABLES:
        count = connection.execute(
            text(f'SELECT count(*) FROM "{table.name}" WHERE source = :source'), {"source": source}
        ).scalar_one()
        if count:
            counts[table.name] = count
    counts["location_on_map"] = connection.execute(
        text("SELECT count(*) FROM location WHERE source = :source AND geom IS NOT NULL"), {"source": source}
    ).scalar_one()
    return counts
