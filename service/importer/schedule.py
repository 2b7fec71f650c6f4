"""Scheduled pulls for `fieldnav worker`: each source of the sources file is pulled when
its interval has passed since its last attempt (read from ``hsds_source``, so a restarted
worker does not pull everything again at once).

Runs in a thread of its own beside the webhook deliveries, which it never slows: a pull
may take minutes. Several workers may run: a session advisory lock per source lets one of
them pull it while the others skip it.
"""

from __future__ import annotations

import logging
import threading
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from service.importer import ImportRefused, pull, sources
from service.platform.settings import PullSettings

log = logging.getLogger(__name__)

# Longest sleep between looks at the schedule (a source added to hsds_source by hand, or
# clocks moving); each look is one small query per source.
MAX_IDLE_S = 60.0


def _lock_key(name: str) -> int:
    return zlib.crc32(f"fieldnav hsds pull {name}".encode())


def due_in_s(engine: Engine, source: sources.SourceConfig, now: datetime) -> float:
    with engine.connect() as connection:
        state = sources.state(connection, source.name)
    if state is None or state["last_attempt_at"] is None:
        return 0.0
    return ((state["last_attempt_at"] + timedelta(seconds=source.interval_s)) - now).total_seconds()


def pull_source(engine: Engine, source: sources.SourceConfig, settings: PullSettings) -> None:
    """Pull one source now unless another worker is pulling it; logs the outcome."""
    with engine.connect() as connection:
        key = _lock_key(source.name)
        if not connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one():
            return
        try:
            headers = source.headers()
        except sources.SourcesFileError as error:
            # Shown by GET /v1/admin/sources like any other failed attempt.
            sources.record_failure(
                engine, name=source.name, url=source.url, attempted_at=datetime.now(UTC), error=str(error)
            )
            log.warning("pull of %s not started: %s", source.name, error)
            headers = None
        try:
            if headers is not None:
                report = pull.pull(
                    engine,
                    source.url,
                    source=source.name,
                    settings=settings,
                    headers=headers,
                    full_every=source.full_every,
                )
                log.info("%s", report.summary_line())
        except ImportRefused as error:
            log.warning("pull of %s failed: %s", source.name, error)
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            connection.commit()


def run_due(engine: Engine, configured: list[sources.SourceConfig], settings: PullSettings) -> float:
    """Pull every source that is due; returns seconds until the next one is."""
    next_s = MAX_IDLE_S
    for source in configured:
        wait_s = due_in_s(engine, source, datetime.now(UTC))
        if wait_s <= 0:
            pull_source(engine, source, settings)
            wait_s = source.interval_s
        next_s = min(next_s, wait_s)
    return max(next_s, 0.5)


def run_forever(engine: Engine, sources_file: Path, settings: PullSettings, stop: threading.Event) -> None:
    configured = sources.load_sources(sources_file)
    log.info("scheduled pulls: %s", ", ".join(f"{s.name} every {s.interval_s:g} s" for s in configured) or "none")
    while not stop.is_set():
        try:
            wait_s = run_due(engine, configured, settings)
        except Exception:
            log.exception("scheduled pulls: a round failed; trying again later")
            wait_s = MAX_IDLE_S
        stop.wait(wait_s)


def start_thread(engine: Engine, sources_file: Path, settings: PullSettings, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(
        target=run_forever, args=(engine, sources_file, settings, stop), name="hsds-pulls", daemon=True
    )
    thread.start()
    return thread
