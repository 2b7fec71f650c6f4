"""The daily roll of date-dependent hours.

A site whose hours depend on the date (open ranges: "the first and third Wednesday"; or
weekly rules with a start or an end) holds its openings for HORIZON_DAYS from the day it was
built (service/directory/hours.py). Imports and pulls rebuild it; when none runs for weeks,
its horizon would run out and the site would show unknown hours. The roll rebuilds the hours
of the sites built before today (``service_site.hours_built_on``, migration 0019) from their
schedule rows, with the code imports use (sites.hours_of_sites), and rewrites the sites
whose hours changed: card, ``open_week_minutes``/``open_ranges``, their map point's
``open_24_7``, and a change log "upsert" per service with a new data version, as a live
change does (service/directory/live_sites.py). Other sites only get their new build day.

One transaction holding the directory lock (service/directory/lock.py): an import rewriting
the same sites waits for it, or it for the import. ``fieldnav db roll-hours`` runs it;
``fieldnav worker`` runs it at start and whenever the date changes.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import date

import orjson
from sqlalchemy import Connection, Engine, text

from service.directory import change_log, sites
from service.directory import lock as directory_lock
from service.directory.sites import HoursFields

log = logging.getLogger(__name__)

ROLL_BATCH_SIZE = 5_000  # sites read and rebuilt at a time
CHECK_EVERY_S = 600.0  # how often the worker looks whether the date has changed

_SOURCES_DUE = text("SELECT DISTINCT source FROM service_site WHERE hours_built_on < :today ORDER BY source")
# Keyset over the id: each batch starts after the last one's last site.
_SITES_DUE = text("""
SELECT id, service_id, location_id, card -> 'timezone' AS timezone, card -> 'week_intervals' AS week_intervals,
       card -> 'open_ranges' AS open_ranges
FROM service_site
WHERE source = :source AND hours_built_on < :today AND id > :after
ORDER BY id
LIMIT :limit
""")
_WRITE_HOURS = text("""
UPDATE service_site SET card = card || CAST(:card_fields AS jsonb), timezone = :timezone,
       open_week_minutes = CAST(:open_week_minutes AS int4multirange),
       open_ranges = CAST(:open_ranges AS tstzmultirange), hours_built_on = :hours_built_on
WHERE id = :id
""")
_WRITE_BUILT_ON = text("UPDATE service_site SET hours_built_on = :hours_built_on WHERE id = :id")
# The same open_24_7 as tiles.MAP_POINTS_FROM_SITES_SQL writes: the only hours map_point holds.
_REFRESH_POINTS = text("""
UPDATE map_point p SET open_24_7 = coalesce(s.card -> 'week_intervals' = '[[0, 10080]]'::jsonb, false)
FROM service_site s
WHERE s.id = p.site_id AND s.id = ANY(:ids)
""")


@dataclass(frozen=True)
class RollReport:
    sites_rolled: int  # sites whose horizon was older than today
    sites_changed: int  # of those, sites whose hours changed
    services_changed: int
    data_version: int | None  # the new data version, None when nothing changed

    def summary_line(self) -> str:
        version = "data version unchanged" if self.data_version is None else f"data version {self.data_version}"
        return (
            f"rolled the hours of {self.sites_rolled} sites: {self.sites_changed} changed "
            f"({self.services_changed} services); {version}"
        )


def roll(engine: Engine, default_timezone: str, *, today: date | None = None) -> RollReport:
    """Rebuild the hours of every site built before `today` (default: the server's date)."""
    today = today or date.today()
    with engine.begin() as connection:
        directory_lock.hold(connection)
        rolled, changed_sites = 0, []
        changed_services: set[uuid.UUID] = set()
        for source in connection.execute(_SOURCES_DUE, {"today": today}).scalars().all():
            for batch in _batches_due(connection, source, today):
                changed = _roll_batch(connection, source, batch, default_timezone, today)
                rolled += len(batch)
                changed_sites += [site["id"] for site in changed]
                changed_services.update(site["service_id"] for site in changed)
        version = None
        if changed_sites:
            connection.execute(_REFRESH_POINTS, {"ids": changed_sites})
            version = change_log.record_upserts(connection, sorted(changed_services, key=str))
    return RollReport(rolled, len(changed_sites), len(changed_services), version)


def _batches_due(connection: Connection, source: str, today: date):
    # Each batch's sites get today's build day, so a new query from the last id is enough.
    after = uuid.UUID(int=0)
    while True:
        params = {"source": source, "today": today, "after": after, "limit": ROLL_BATCH_SIZE}
        batch = [dict(row._mapping) for row in connection.execute(_SITES_DUE, params)]
        if not batch:
            return
        yield batch
        after = batch[-1]["id"]


def _roll_batch(
    connection: Connection, source: str, batch: list[dict], default_timezone: str, today: date
) -> list[dict]:
    """Write the batch's rebuilt hours; returns the sites whose hours changed."""
    built = sites.hours_of_sites(connection, source, batch, default_timezone, today)
    changed, rewrites, unchanged = [], [], []
    for site in batch:
        fields = built[site["id"]]
        if _card_hours(site) == _as_json(fields.card_fields()):
            unchanged.append({"id": site["id"], "hours_built_on": fields.built_on})
        else:
            changed.append(site)
            rewrites.append(_write_params(site["id"], fields))
    if rewrites:
        connection.execute(_WRITE_HOURS, rewrites)
    if unchanged:
        connection.execute(_WRITE_BUILT_ON, unchanged)
    return changed


def _card_hours(site: dict) -> dict:
    return {"timezone": site["timezone"], "week_intervals": site["week_intervals"], "open_ranges": site["open_ranges"]}


def _as_json(value: dict) -> dict:
    """As the card holds it (tuples become lists)."""
    return orjson.loads(orjson.dumps(value))


def _write_params(site_id: uuid.UUID, fields: HoursFields) -> dict:
    return {"id": site_id, "card_fields": orjson.dumps(fields.card_fields()).decode(), **fields.columns()}


# --------------------------------------------------------------------------- the worker's thread


def run_forever(engine: Engine, default_timezone: str, stop: threading.Event) -> None:
    """Roll at start, then whenever the date changes, until `stop` is set. A failed roll is
    logged and tried again at the next check."""
    rolled_on: date | None = None
    while not stop.is_set():
        today = date.today()
        if today != rolled_on:
            try:
                log.info(roll(engine, default_timezone, today=today).summary_line())
                rolled_on = today
            except Exception:
                log.exception("hours roll failed; trying again in %g s", CHECK_EVERY_S)
        stop.wait(CHECK_EVERY_S)


def start_thread(engine: Engine, default_timezone: str, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=run_forever, args=(engine, default_timezone, stop), name="hours-roll", daemon=True)
    thread.start()
    return thread
