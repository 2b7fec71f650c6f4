"""The report desk's reads: the list (filtered, paged), one report, and the CSV export.

Who sees what: a navigator the reports routed to their centre (a navigator token's agency
is its centre id, as for handoffs); an admin every report, those without a centre too. A
report outside the caller's view does not exist for them (404, never 403).

A report's note may be personal data, so every read that shows notes is written to the
audit log (service/handoffs/audit.py) in the same transaction: action ``report-read`` or
``report-export``, with the ids of the reports whose note was shown in ``detail``. The
reporter's account (issuer, subject) is never shown: only their role and agency.
"""

from __future__ import annotations

import csv
import io
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from service.auth.principal import Principal, Role
from service.handoffs import audit
from service.platform.problems import Problem

STATUSES = ("open", "resolved", "all")
AUDIT_PURPOSE = "field report review (wrong data reported from the field)"


@dataclass(frozen=True)
class ReportFilter:
    status: str = "open"  # open, resolved or all
    kinds: tuple[str, ...] = ()  # any kind when empty
    service_id: uuid.UUID | None = None
    centre_id: str | None = None  # narrows an admin's view; a navigator's stays their centre
    since: datetime | None = None  # created_at, inclusive
    until: datetime | None = None  # created_at, exclusive


def visible(principal: Principal) -> tuple[str, dict]:
    """A SQL condition on ``field_report r`` true for the reports ``principal`` may see."""
    if principal.role is Role.ADMIN:
        return "true", {}
    if principal.role is Role.NAVIGATOR:
        return "r.centre_id = :v_centre", {"v_centre": principal.agency}
    return "false", {}


def not_found(report_id: uuid.UUID) -> Problem:
    return Problem(
        404,
        "not-found",
        f"No report with id {report_id}.",
        detail_fr=f"Aucun signalement ne porte l’identifiant {report_id}.",
    )


def _where(principal: Principal, wanted: ReportFilter) -> tuple[str, dict]:
    condition, params = visible(principal)
    clauses = [condition]
    if wanted.status != "all":
        clauses.append("r.status = :status")
        params["status"] = wanted.status
    optional = (
        ("kinds", "r.kind = ANY(:kinds)", list(wanted.kinds) or None),
        ("service_id", "r.service_id = :service_id", wanted.service_id),
        ("centre_id", "r.centre_id = :centre_id", wanted.centre_id),
        ("since", "r.created_at >= :since", wanted.since),
        ("until", "r.created_at < :until", wanted.until),
    )
    for name, clause, value in optional:
        if value is not None:
            clauses.append(clause)
            params[name] = value
    return " AND ".join(clauses), params


_SELECT = """
SELECT r.id, r.service_id, s.name AS service_name, r.kind, r.note, ST_Y(r.location) AS lat, ST_X(r.location) AS lon,
       r.centre_id, r.reporter_role, r.reporter_agency, r.created_at, r.status, r.resolved_at, r.resolved_by,
       r.resolution_note
FROM field_report r LEFT JOIN service s ON s.id = r.service_id
"""
# Newest first; the id breaks ties so pages and export batches never overlap.
_ORDER = "ORDER BY r.created_at DESC, r.id DESC"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _actor(role_and_agency: str | None) -> dict | None:
    """resolved_by holds "role|agency" (commands.py)."""
    if role_and_agency is None:
        return None
    role, _, agency = role_and_agency.partition("|")
    return {"role": role, "agency": agency}


def item(row) -> dict:
    """One report as the desk sees it. The service name is null when an import has since
    removed the service (reports keep their service id)."""
    return {
        "id": str(row.id),
        "service_id": str(row.service_id),
        "service_name": row.service_name,
        "kind": row.kind,
        "note": row.note,
        "location": None if row.lat is None else {"lat": round(row.lat, 5), "lon": round(row.lon, 5)},
        "centre_id": row.centre_id,
        "reporter": {"role": row.reporter_role, "agency": row.reporter_agency},
        "created_at": _iso(row.created_at),
        "status": row.status,
        "resolved_at": _iso(row.resolved_at),
        "resolved_by": _actor(row.resolved_by),
        "resolution_note": row.resolution_note,
        "links": {"self": f"/v1/admin/reports/{row.id}", "service": f"/v1/services/{row.service_id}"},
    }


def audit_notes_shown(connection: Connection, principal: Principal, action: str, rows) -> None:
    """One audit entry naming the reports whose note ``rows`` show (none when no note is shown)."""
    ids = [str(row.id) for row in rows if row.note is not None]
    if ids:
        audit.record(
            connection,
            audit.Actor.of(principal),
            [audit.Entry(action, AUDIT_PURPOSE, None, ("report_note",), {"report_ids": ids})],
        )


def fetch(connection: Connection, principal: Principal, report_id: uuid.UUID):
    """The report's row if ``principal`` may see it, else None (no audit entry: the caller's)."""
    condition, params = visible(principal)
    return connection.execute(text(f"{_SELECT} WHERE r.id = :id AND {condition}"), {"id": report_id, **params}).first()


def one(connection: Connection, principal: Principal, report_id: uuid.UUID) -> dict:
    row = fetch(connection, principal, report_id)
    if row is None:
        raise not_found(report_id)
    audit_notes_shown(connection, principal, "report-read", [row])
    return item(row)


def page(connection: Connection, principal: Principal, wanted: ReportFilter, page_number: int, per_page: int) -> dict:
    """An HSDS-like ``Page`` of reports, newest first (the envelope of GET /v1/services)."""
    where, params = _where(principal, wanted)
    rows = connection.execute(
        text(f"""
        SELECT listed.*, count(*) OVER () AS total FROM ({_SELECT} WHERE {where}) listed
        ORDER BY listed.created_at DESC, listed.id DESC LIMIT :limit OFFSET :offset
    """),
        {**params, "limit": per_page, "offset": (page_number - 1) * per_page},
    ).all()
    if rows:
        total = int(rows[0].total)
    else:  # past the last page the window count is lost; count on its own
        total = connection.execute(text(f"SELECT count(*) FROM field_report r WHERE {where}"), params).scalar_one()
    audit_notes_shown(connection, principal, "report-read", rows)
    total_pages = math.ceil(total / per_page)
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page_number,
        "size": per_page,
        "first_page": page_number == 1,
        "last_page": page_number >= total_pages,
        "empty": not rows,
        "contents": [item(row) for row in rows],
    }


# --------------------------------------------------------------------------- CSV export

CSV_COLUMNS = (
    "id",
    "created_at",
    "status",
    "kind",
    "service_id",
    "service_name",
    "centre_id",
    "reporter_role",
    "reporter_agency",
    "note",
    "lat",
    "lon",
    "resolved_at",
    "resolved_by_role",
    "resolved_by_agency",
    "resolution_note",
)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A text cell, with a leading apostrophe where a spreadsheet would see a formula."""
    cell = "" if value is None else str(value)
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def csv_row(row) -> list[str]:
    shown = item(row)
    resolver = shown["resolved_by"] or {}
    text_cells = {
        "id": shown["id"],
        "created_at": shown["created_at"],
        "status": shown["status"],
        "kind": shown["kind"],
        "service_id": shown["service_id"],
        "service_name": shown["service_name"],
        "centre_id": shown["centre_id"],
        "reporter_role": shown["reporter"]["role"],
        "reporter_agency": shown["reporter"]["agency"],
        "note": shown["note"],
        "resolved_at": shown["resolved_at"],
        "resolved_by_role": resolver.get("role"),
        "resolved_by_agency": resolver.get("agency"),
        "resolution_note": shown["resolution_note"],
    }
    cells = {name: csv_cell(value) for name, value in text_cells.items()}
    # Coordinates are numbers we format: a negative longitude must stay a number, not text.
    location = shown["location"]
    cells["lat"] = f"{location['lat']:.5f}" if location else ""
    cells["lon"] = f"{location['lon']:.5f}" if location else ""
    return [cells[name] for name in CSV_COLUMNS]


def _lines(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)  # RFC 4180 line ends
    return buffer.getvalue()


def export_csv(engine: Engine, principal: Principal, wanted: ReportFilter, batch_size: int = 500) -> Iterator[str]:
    """The CSV text in chunks: the header, then one chunk per batch of reports, newest first.
    Each batch is read (keyset, after the last one sent) and audited in its own transaction,
    so a long export holds no transaction open while the client reads."""
    yield _lines([list(CSV_COLUMNS)])
    where, params = _where(principal, wanted)
    keyset = ""
    after: dict[str, Any] = {}
    while True:
        with engine.begin() as connection:
            rows = connection.execute(
                text(f"{_SELECT} WHERE {where} {keyset} {_ORDER} LIMIT :batch"),
                {**params, **after, "batch": batch_size},
            ).all()
            audit_notes_shown(connection, principal, "report-export", rows)
        if rows:
            yield _lines([csv_row(row) for row in rows])
        if len(rows) < batch_size:
            return
        keyset = "AND (r.created_at, r.id) < (:after_at, :after_id)"
        after = {"after_at": rows[-1].created_at, "after_id": rows[-1].id}
