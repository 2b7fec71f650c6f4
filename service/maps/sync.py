"""Delta sync of the directory for phones that keep an offline copy (``GET /v1/sync/services``).

The change log (``change_log``: one row per service an import changed, ``seq`` from an
identity, ``op`` 'upsert' or 'delete') drives everything here; no clock is involved.

Cursor
    An opaque token for clients: the url-safe base64 (no padding) of a compact JSON object
    ``{"s": <last change_log seq the client has>, "p": <snapshot position or null>}``.
    Clients store the ``next_cursor`` they get and send it back; they never build one.

Snapshot mode (no cursor, or a cursor with ``p`` set)
    The first call takes ``S`` = the current ``max(change_log.seq)`` (0 when the log is
    empty) and pages through every service with at least one *active* site (public and
    confidential), ordered by service id, ``page_size`` services a page; each page lists
    the service's sites ordered by location id, each site as ``offline_summary(card, now)`` (the nearest fields plus the weekly hours rule)
    (what ``/v1/services/nearest`` returns, minus the distance). ``p`` is the last service
    id sent. After the last page, ``next_cursor`` is ``{"s": S, "p": null}``: the client
    then switches to delta mode. An import that lands while the client pages is harmless:
    every change it made has ``seq > S`` and is replayed by the deltas that follow (replay
    is idempotent: an upsert replaces the service's sites, a tombstone removes them).

Delta mode (cursor with ``p`` null)
    The changes with ``seq > s``, in ``seq`` order, up to ``page_size`` distinct services.
    For each service only its *last* op in that window counts: 'upsert' sends the service's
    current active sites, and a service that no longer exists or has no active site left
    (deleted, or made inactive) is sent as a tombstone ``{"id": service_id}``; 'delete' is a
    tombstone. ``next_cursor`` carries the seq of the last change included; ``has_more`` says
    whether later changes exist (call again at once). Imports are serialised by an advisory
    lock and take their seqs inside it, so seq order is commit order and no change can
    appear later below a seq a client has already passed.

Retention and 410 Gone
    ``prune_change_log`` deletes log rows older than ``retention_days`` but never the newest
    row, so ``min(seq)`` exists whenever anything was ever logged. A cursor whose ``s`` is
    below ``min(seq) - 1`` missed pruned changes: 410 ``cursor-expired``, and the client
    downloads a fresh offline pack (or restarts sync without a cursor). A cursor ``s`` above
    ``max(seq)`` comes from another database (restored or rebuilt) and gets the same answer.
    One conservative corner: identity values burnt by rolled-back imports before the very
    first logged change make a cursor ``s = 0`` look expired; such a client only ever held
    an empty directory, and a re-download costs it nothing.

Every page is read in one REPEATABLE READ transaction, so the data version, the log and the
sites it returns agree with each other.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import Connection, Engine, text

from service.areas import serves
from service.capacity.merge import stale_after
from service.directory import lock as directory_lock
from service.directory.results import offline_summary
from service.platform.problem_texts import field_problem
from service.platform.problems import Problem


@dataclass(frozen=True)
class Cursor:
    seq: int
    position: uuid.UUID | None = None  # last service id of the snapshot page sent; None in delta mode


def encode_cursor(cursor: Cursor) -> str:
    body = orjson.dumps({"s": cursor.seq, "p": None if cursor.position is None else str(cursor.position)})
    return base64.urlsafe_b64encode(body).rstrip(b"=").decode()


def _bad_cursor() -> Problem:
    return Problem(
        400,
        "invalid-cursor",
        "The cursor is not one this server issued; send back next_cursor exactly as "
        "received, or start over without a cursor.",
        title="Invalid cursor",
        errors=[field_problem("query.cursor", "cursor_invalid")],
    )


def decode_cursor(token: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise _bad_cursor() from None
    if not isinstance(body, dict) or set(body) != {"s", "p"}:
        raise _bad_cursor()
    seq, position = body["s"], body["p"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise _bad_cursor()
    if position is not None:
        try:
            position = uuid.UUID(position)
        except (TypeError, ValueError, AttributeError):
            raise _bad_cursor() from None
    return Cursor(seq, position)


def _expired(detail: str, detail_fr: str) -> Problem:
    return Problem(
        410,
        "cursor-expired",
        f"{detail} Download a fresh offline pack for your area, then restart sync without a cursor "
        "(or restart sync without a cursor to receive the whole directory again).",
        detail_fr=f"{detail_fr} Téléchargez de nouveau la zone hors ligne, puis recommencez la synchronisation sans "
        "curseur (ou recommencez-la sans curseur pour recevoir de nouveau tout le répertoire).",
        title="Cursor expired",
    )


def _log_bounds(connection: Connection) -> tuple[int | None, int]:
    row = connection.execute(text("SELECT min(seq), coalesce(max(seq), 0) FROM change_log")).one()
    return row[0], row[1]


def _check_cursor(cursor: Cursor, min_seq: int | None, max_seq: int) -> None:
    if cursor.seq > max_seq:
        raise _expired(
            "This cursor does not belong to this server's change log (the directory was rebuilt).",
            "Ce curseur ne correspond pas au journal des changements de ce serveur (le répertoire a été reconstruit).",
        )
    if min_seq is not None and cursor.seq < min_seq - 1:
        raise _expired(
            "This cursor is older than the change history the server keeps.",
            "Ce curseur est plus ancien que l’historique des changements que le serveur conserve.",
        )


_SITES_OF = f"""
SELECT service_id, card_json AS card, {serves.OFFLINE_AREA_SQL} AS serves_area FROM service_site
WHERE status = 'active' AND service_id = ANY(:ids)
ORDER BY service_id, location_id
"""


def _sites_by_service(connection: Connection, ids: list[uuid.UUID], now: datetime) -> dict[uuid.UUID, list[dict]]:
    sites: dict[uuid.UUID, list[dict]] = {}
    if ids:
        for row in connection.execute(text(_SITES_OF), {"ids": ids}):
            sites.setdefault(row.service_id, []).append(offline_summary(row.card, now, row.serves_area))
    return sites


def _snapshot_page(connection: Connection, cursor: Cursor | None, max_seq: int, page_size: int, now: datetime) -> dict:
    snapshot_seq = max_seq if cursor is None else cursor.seq
    ids = list(
        connection.execute(
            text(
                "SELECT DISTINCT service_id FROM service_site WHERE status = 'active' "
                "AND (CAST(:after AS uuid) IS NULL OR service_id > CAST(:after AS uuid)) ORDER BY service_id LIMIT :limit"
            ),
            {"after": None if cursor is None else cursor.position, "limit": page_size + 1},
        ).scalars()
    )
    has_more = len(ids) > page_size
    ids = ids[:page_size]
    sites = _sites_by_service(connection, ids, now)
    services = [{"id": str(i), "op": "upsert", "sites": sites[i]} for i in ids if i in sites]
    next_cursor = Cursor(snapshot_seq, ids[-1]) if has_more else Cursor(snapshot_seq, None)
    return {
        "mode": "snapshot",
        "services": services,
        "tombstones": [],
        "next_cursor": encode_cursor(next_cursor),
        "has_more": has_more,
    }


_DELTA_CUT = """
SELECT first_seq FROM (
    SELECT service_id, min(seq) AS first_seq FROM change_log WHERE seq > :after GROUP BY service_id
) AS firsts
ORDER BY first_seq OFFSET :page_size LIMIT 1
"""

_LAST_OPS = """
SELECT DISTINCT ON (service_id) service_id, op, seq FROM change_log
WHERE seq > :after AND seq <= :through
ORDER BY service_id, seq DESC
"""


def _delta_page(connection: Connection, cursor: Cursor, max_seq: int, page_size: int, now: datetime) -> dict:
    # The first change of the (page_size + 1)-th service opens the next page.
    next_first = connection.execute(text(_DELTA_CUT), {"after": cursor.seq, "page_size": page_size}).scalar()
    through = max_seq if next_first is None else next_first - 1
    last_ops = connection.execute(text(_LAST_OPS), {"after": cursor.seq, "through": through}).all()
    upserted = [row.service_id for row in last_ops if row.op == "upsert"]
    sites = _sites_by_service(connection, upserted, now)
    services = [{"id": str(i), "op": "upsert", "sites": sites[i]} for i in sorted(sites, key=str)]
    tombstones = sorted(
        ({"id": str(row.service_id)} for row in last_ops if row.service_id not in sites), key=lambda t: t["id"]
    )
    return {
        "mode": "delta",
        "services": services,
        "tombstones": tombstones,
        "next_cursor": encode_cursor(Cursor(through, None)),
        "has_more": next_first is not None,
    }


def sync_page(engine: Engine, cursor: Cursor | None, *, page_size: int, now: datetime) -> dict:
    """One page of ``GET /v1/sync/services``: ``{"data_version", "mode", "services",
    "tombstones", "next_cursor", "has_more"}``. Raises Problem 410 for an expired cursor."""
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection, connection.begin():
        min_seq, max_seq = _log_bounds(connection)
        if cursor is not None:
            _check_cursor(cursor, min_seq, max_seq)
        data_version = connection.execute(text("SELECT version FROM data_version WHERE id = 1")).scalar_one()
        if cursor is None or cursor.position is not None:
            page = _snapshot_page(connection, cursor, max_seq, page_size, now)
        else:
            page = _delta_page(connection, cursor, max_seq, page_size, now)
    # Phones tell a stale count offline with the server's rule (service/capacity/merge.py).
    return {"data_version": data_version, "capacity_stale_after_s": int(stale_after().total_seconds()), **page}


def prune_change_log(connection: Connection, now: datetime, retention_days: float) -> int:
    """Delete change log rows older than ``retention_days`` (never the newest row: its seq
    is what tells an expired cursor from a current one). Returns how many were deleted.

    Serialised with imports by the import lock, so it never races an import's log rows."""
    directory_lock.hold(connection)
    cutoff = now - timedelta(days=retention_days)
    result = connection.execute(
        text("DELETE FROM change_log WHERE changed_at < :cutoff AND seq < (SELECT max(seq) FROM change_log)"),
        {"cutoff": cutoff},
    )
    return result.rowcount
