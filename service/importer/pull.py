"""One pull of a source from another directory's HSDS 3 API: choose full or incremental,
spool the remote to a temporary ndjson file (service/importer/remote.py), then import it
with the file import's rules in one transaction that also records the pull
(service/importer/sources.py).

Full pulls replace the source (services gone upstream become tombstones); incremental
pulls ask for ``modified_after`` the start of the last successful pull and upsert only what
came back. Every ``full_every`` incremental pulls, the next is full.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine

from service.importer import ImportRefused, ImportReport, chunked, sources
from service.importer.records import RowProblem
from service.importer.remote import RemoteReader, SpoolStats, spool
from service.platform.settings import PullSettings

# modified_after is our clock's start of the last pull, compared with theirs: ask again for
# a margin before it, so a remote clock a little behind ours never hides a change. Services
# sent twice are the same content and change nothing.
CLOCK_MARGIN = timedelta(minutes=5)

log = logging.getLogger(__name__)


@dataclass
class PullReport:
    source: str
    url: str
    mode: str
    spooled: SpoolStats
    modified_after: datetime | None
    imported: ImportReport | None  # None: an incremental pull that brought nothing new
    duration_s: float

    def summary_line(self) -> str:
        since = f" modified after {self.modified_after.isoformat()}" if self.modified_after else ""
        head = (
            f"pulled {self.source} from {self.url} ({self.mode}{since}): {self.spooled.services} services, "
            f"{self.spooled.organizations} organizations in {self.spooled.pages} pages, "
            f"{self.spooled.bytes_read} bytes"
        )
        if self.imported is None:
            return f"{head}; nothing changed; {self.duration_s:.1f} s"
        report = self.imported
        return (
            f"{head}; {report.added} added, {report.upserted - report.added} updated, "
            f"{report.deleted} removed (tombstoned); {report.rows_skipped} rows skipped, "
            f"{len(report.problems)} problems; data version {report.data_version}; {self.duration_s:.1f} s"
        )


def choose_mode(state: dict | None, url: str, full_every: int, force_full: bool) -> str:
    if force_full or state is None or state["last_success_at"] is None or state["url"] != url:
        return "full"
    return "full" if state["pulls_since_full"] >= full_every else "incremental"


def pull(
    engine: Engine,
    url: str,
    *,
    source: str,
    settings: PullSettings,
    headers: dict[str, str] | None = None,
    ndjson: bool = False,
    full_every: int = sources.DEFAULT_FULL_EVERY,
    force_full: bool = False,
    strict: bool = False,
) -> PullReport:
    """Raises RemoteFailed or ImportRefused (nothing imported; the failure is recorded)."""
    started, started_at = time.monotonic(), datetime.now(UTC)
    url = url.rstrip("/")
    with engine.connect() as connection:
        previous = sources.state(connection, source)
    mode = choose_mode(previous, url, full_every, force_full)
    modified_after = previous["last_success_at"] - CLOCK_MARGIN if mode == "incremental" and previous else None
    reader = RemoteReader(url, settings, headers)
    try:
        with tempfile.TemporaryDirectory(prefix="fieldnav-pull-") as folder:
            path = Path(folder) / f"{source}.ndjson"
            with path.open("wb") as out:
                stats = spool(reader, out, modified_after=modified_after, ndjson=ndjson)
            if mode == "incremental" and stats.services == 0:
                imported = None
                with engine.begin() as connection:
                    _record(connection, source, url, mode, started_at, None)
            else:
                try:
                    imported = chunked.import_spool(
                        engine,
                        path,
                        source=source,
                        origin=url,
                        leading_records=stats.organizations,
                        chunk_services=settings.chunk_services,
                        mode="full" if mode == "full" else "upsert",
                        strict=strict,
                        started=started,
                        started_at=started_at,
                        in_transaction=lambda connection, report: _record(
                            connection, source, url, mode, started_at, report
                        ),
                    )
                except ImportRefused as refused:
                    refused.problems = _placed(refused.problems, stats)  # --strict: name the pages
                    raise
                imported.problems = _placed(imported.problems, stats)
    except Exception as error:
        message = str(error) if isinstance(error, ImportRefused) else f"{type(error).__name__}: {error}"
        _record_failure(engine, source, url, started_at, message)
        raise
    finally:
        reader.close()
    return PullReport(source, url, mode, stats, modified_after, imported, time.monotonic() - started)


def _placed(problems: list[RowProblem], stats: SpoolStats) -> list[RowProblem]:
    placed = []
    for problem in problems:
        page, row = stats.place(problem.row)
        placed.append(replace(problem, file=page, row=row))
    return placed


def _record_failure(engine: Engine, source: str, url: str, started_at: datetime, message: str) -> None:
    try:
        sources.record_failure(engine, name=source, url=url, attempted_at=started_at, error=message)
    except Exception:  # noqa: BLE001 - the database may be what failed; the pull's own error matters more
        log.warning("pull of %s: its failure could not be recorded", source)


def _record(
    connection: Connection, source: str, url: str, mode: str, started_at: datetime, report: ImportReport | None
) -> None:
    sources.record_success(
        connection,
        name=source,
        url=url,
        mode=mode,
        started_at=started_at,
        added=report.added if report else 0,
        updated=report.upserted - report.added if report else 0,
        removed=report.deleted if report else 0,
        problem_count=len(report.problems) if report else 0,
        data_version=report.data_version if report else None,
    )
