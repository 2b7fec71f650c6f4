"""Write live counts: checked against what the service shows, kept with their history, seen
everywhere once committed (service/directory/live_sites.py).

One transaction per request, holding the directory lock (service/directory/lock.py) for a
few milliseconds: every item is checked first and nothing is written unless all pass, so a
bulk update is all or nothing, and ``Rejected`` lists every item's problems.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from service.auth.principal import Principal
from service.capacity import grants
from service.capacity.model import CapacityEntry
from service.directory import live_sites
from service.directory import lock as directory_lock
from service.platform.settings import capacity_settings


@dataclass(frozen=True)
class ServiceCounts:
    service_id: uuid.UUID
    entries: list[CapacityEntry]


@dataclass(frozen=True)
class ItemProblem:
    item: int  # index of the service in the request
    entry: int | None  # index of the count, or None for the service itself
    code: str  # "service_not_found", "capacity_outdated" or "available_above_maximum"
    ctx: dict


class Rejected(Exception):
    def __init__(self, problems: list[ItemProblem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


_UPSERT = text("""
INSERT INTO capacity_live (service_id, unit, available, maximum, updated, recorded_at, recorded_by)
VALUES (:service_id, :unit, :available, :maximum, :updated, :now, :actor_key)
ON CONFLICT (service_id, unit) DO UPDATE SET available = excluded.available, maximum = excluded.maximum,
    updated = excluded.updated, recorded_at = excluded.recorded_at, recorded_by = excluded.recorded_by
""")
_HISTORY = text("""
INSERT INTO capacity_history (service_id, unit, old_available, old_maximum, old_updated, new_available, new_maximum,
                              new_updated, actor_key, actor_role, actor_agency, via, recorded_at)
VALUES (:service_id, :unit, :old_available, :old_maximum, :old_updated, :available, :maximum, :updated,
        :actor_key, :actor_role, :actor_agency, :via, :now)
""")


_CLOCK = text("SELECT clock_timestamp()")


def taken_at(entry: CapacityEntry, now: datetime) -> datetime:
    """When the count was taken: its ``updated``, or now. A time ahead of the server's clock
    (a phone's clock, within model.CLOCK_LEEWAY) is taken as now: kept as sent, it would make
    the next update without a time "older than the one shown" until that clock caught up."""
    return now if entry.updated is None else min(entry.updated, now)


def maximum_of(entry: CapacityEntry, held: dict | None) -> int | None:
    """The maximum to keep: the one sent (null clears it), else the one shown for the unit, so
    a front desk sending only what is free does not erase how many beds there are."""
    if "maximum" in entry.model_fields_set or held is None or held["maximum"] is None:
        return entry.maximum
    return int(held["maximum"])


def check(
    connection: Connection, principal: Principal, updates: list[ServiceCounts], now: datetime
) -> list[ItemProblem]:
    """What ``write`` would refuse, without writing (a bulk update with bad items of its own
    lists these too)."""
    return _check(connection, principal, updates, now)[0]


def _check(
    connection: Connection, principal: Principal, updates: list[ServiceCounts], now: datetime
) -> tuple[list[ItemProblem], dict[uuid.UUID, dict[str, dict]]]:
    ids = [u.service_id for u in updates]
    allowed = grants.in_scope(connection, principal, ids)
    grouped = live_sites.rows_by_service(connection, live_sites.BY_IDS, {"ids": ids})
    problems, shown_by_service = [], {}
    for i, update in enumerate(updates):
        if update.service_id not in allowed:
            problems.append(ItemProblem(i, None, "service_not_found", {}))
            continue
        shown = {c["unit"]: c for c in live_sites.fields_of(grouped, update.service_id)["capacities"]}
        shown_by_service[update.service_id] = shown
        for j, entry in enumerate(update.entries):
            held = shown.get(entry.unit)
            if held is not None and taken_at(entry, now) < datetime.fromisoformat(held["as_of"]):
                problems.append(ItemProblem(i, j, "capacity_outdated", {"as_of": held["as_of"]}))
            maximum = maximum_of(entry, held)
            if maximum is not None and entry.available > maximum:
                problems.append(ItemProblem(i, j, "available_above_maximum", {}))
    return problems, shown_by_service


def write(
    connection: Connection, principal: Principal, updates: list[ServiceCounts], *, via: str
) -> tuple[int, datetime]:
    """Apply every update or none (raises Rejected); returns the new data version and the
    time the update was made at.

    "Now" (the time of a count sent without one, and of the history row) is read once the
    lock is held: updates of one service sent at the same moment queue on the lock, and one
    whose "now" was read before it waited would be older than the update that went first
    (409 for a count taken now). It is the database's clock, the one every API host shares."""
    directory_lock.hold_within(connection, capacity_settings().lock_timeout_s)
    now = connection.execute(_CLOCK).scalar_one()
    problems, shown_by_service = _check(connection, principal, updates, now)
    if problems:
        raise Rejected(problems)
    actor = {
        "actor_key": principal.key,
        "actor_role": principal.role.value,
        "actor_agency": principal.agency,
        "via": via,
        "now": now,
    }
    rows, history = [], []
    for update in updates:
        shown = shown_by_service[update.service_id]
        for entry in update.entries:
            row = {
                "service_id": update.service_id,
                "unit": entry.unit,
                "available": entry.available,
                "maximum": maximum_of(entry, shown.get(entry.unit)),
                "updated": taken_at(entry, now),
                **actor,
            }
            old = shown.get(entry.unit)
            rows.append(row)
            history.append(
                {
                    **row,
                    "old_available": None if old is None else old["available"],
                    "old_maximum": None if old is None else old["maximum"],
                    "old_updated": None if old is None else datetime.fromisoformat(old["as_of"]),
                }
            )
    connection.execute(_UPSERT, rows)
    connection.execute(_HISTORY, history)
    return live_sites.refresh(connection, [u.service_id for u in updates]), now


def current(connection: Connection, service_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict]:
    """What each service shows now: ``capacities`` (card entries, without ``stale``) and
    ``open_reports``."""
    grouped = live_sites.rows_by_service(connection, live_sites.BY_IDS, {"ids": service_ids})
    return {service_id: live_sites.fields_of(grouped, service_id) for service_id in service_ids}


def names(connection: Connection, service_id: uuid.UUID) -> dict:
    row = connection.execute(
        text("""
        SELECT s.name, o.name AS organization_name FROM service s LEFT JOIN organization o ON o.id = s.organization_id
        WHERE s.id = :id
    """),
        {"id": service_id},
    ).one()
    return dict(row._mapping)


def history(connection: Connection, service_id: uuid.UUID, limit: int = 20) -> list[dict]:
    """The last changes, newest first: who (role and agency; the account for admins to audit),
    when, old and new values."""
    rows = connection.execute(
        text("""
        SELECT unit, old_available, old_maximum, old_updated, new_available, new_maximum, new_updated,
               actor_key, actor_role, actor_agency, via, recorded_at
        FROM capacity_history WHERE service_id = :id ORDER BY recorded_at DESC, id DESC LIMIT :limit
    """),
        {"id": service_id, "limit": limit},
    )
    entries = []
    for row in rows:
        entries.append(
            {
                "unit": row.unit,
                "old": None
                if row.old_available is None
                else {
                    "available": _whole(row.old_available),
                    "maximum": _whole(row.old_maximum),
                    "as_of": row.old_updated.isoformat(),
                },
                "new": {
                    "available": row.new_available,
                    "maximum": row.new_maximum,
                    "as_of": row.new_updated.isoformat(),
                },
                "by": {"subject": row.actor_key.partition("|")[2], "role": row.actor_role, "agency": row.actor_agency},
                "via": row.via,
                "recorded_at": row.recorded_at.isoformat(),
            }
        )
    return entries


def _whole(value):
    if value is None:
        return None
    value = float(value)
    return int(value) if value.is_integer() else value
