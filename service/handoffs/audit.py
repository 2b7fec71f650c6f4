"""The append-only audit log of every read and change of handoff personal data.

One row per handoff touched: who (issuer, subject, agency, role), what (action and the
fields shown or changed), when (clock time of the write), why (the purpose of the
operation). Rows never hold personal data themselves: ids, field names, statuses, counts.
The database refuses UPDATE, DELETE and TRUNCATE on the table (migration 0005), and the role
the API, the worker and purge connect as may only read and add to it: it owns no table, so
it cannot disable those triggers either (service/platform/grants.py).

Entries are written in the same transaction as the read or change they record, so nothing
is shown or changed unaudited.
"""

from __future__ import annotations

import csv
import getpass
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID

import orjson
from sqlalchemy import Connection, Engine, text

from service.auth.principal import Principal

EXPORT_COLUMNS = (
    "id",
    "at",
    "actor_issuer",
    "actor_subject",
    "actor_agency",
    "actor_role",
    "action",
    "handoff_id",
    "fields",
    "purpose",
    "detail",
)


@dataclass(frozen=True)
class Actor:
    issuer: str
    subject: str
    agency: str
    role: str

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.issuer, principal.subject, principal.agency, principal.role.value)

    @classmethod
    def system(cls, command: str) -> Actor:
        """A command run on the server (purge, key rotation, export): the OS user and host."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return cls("fieldnav-cli", f"{user}@{socket.gethostname()}", "fieldnav", f"system:{command}")


@dataclass(frozen=True)
class Entry:
    action: str
    purpose: str
    handoff_id: UUID | None = None
    fields: tuple[str, ...] = ()
    detail: dict | None = None


_INSERT = text("""
    INSERT INTO handoff_audit (actor_issuer, actor_subject, actor_agency, actor_role, action, handoff_id, fields, purpose, detail)
    VALUES (:issuer, :subject, :agency, :role, :action, :handoff_id, :fields, :purpose, CAST(:detail AS jsonb))
""")


def record(connection: Connection, actor: Actor, entries: Iterable[Entry]) -> int:
    rows = [
        {
            "issuer": actor.issuer,
            "subject": actor.subject,
            "agency": actor.agency,
            "role": actor.role,
            "action": e.action,
            "handoff_id": e.handoff_id,
            "fields": list(e.fields),
            "purpose": e.purpose,
            "detail": orjson.dumps(e.detail).decode() if e.detail is not None else None,
        }
        for e in entries
    ]
    if rows:
        connection.execute(_INSERT, rows)
    return len(rows)


def read_entries(
    connection: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    handoff_id: UUID | None = None,
    after_id: int = 0,
    limit: int | None = None,
) -> list[dict]:
    clauses: list[str] = ["id > :after_id"]
    params: dict[str, object] = {"after_id": after_id}
    if since is not None:
        clauses.append("at >= :since")
        params["since"] = since
    if until is not None:
        clauses.append("at < :until")
        params["until"] = until
    if handoff_id is not None:
        clauses.append("handoff_id = :handoff_id")
        params["handoff_id"] = handoff_id
    limit_sql = ""
    if limit is not None:
        limit_sql, params["limit"] = "LIMIT :limit", limit
    rows = (
        connection.execute(
            text(f"""
        SELECT {", ".join(EXPORT_COLUMNS)} FROM handoff_audit WHERE {" AND ".join(clauses)} ORDER BY id {limit_sql}
    """),
            params,
        )
        .mappings()
        .all()
    )
    return [_plain(row) for row in rows]


def _plain(row) -> dict:
    return {
        "id": row["id"],
        "at": row["at"].isoformat(),
        "actor_issuer": row["actor_issuer"],
        "actor_subject": row["actor_subject"],
        "actor_agency": row["actor_agency"],
        "actor_role": row["actor_role"],
        "action": row["action"],
        "handoff_id": str(row["handoff_id"]) if row["handoff_id"] else None,
        "fields": list(row["fields"]),
        "purpose": row["purpose"],
        "detail": row["detail"],
    }


def _stream(engine: Engine, since: datetime | None, until: datetime | None, batch: int = 5000) -> Iterator[dict]:
    after_id = 0
    while True:
        with engine.connect() as connection:
            rows = read_entries(connection, since=since, until=until, after_id=after_id, limit=batch)
        yield from rows
        if len(rows) < batch:
            return
        after_id = rows[-1]["id"]


def export(engine: Engine, out: Path, *, since: datetime | None, until: datetime | None, fmt: str) -> int:
    """Write the audit entries in [since, until) to ``out`` as CSV or JSON lines; the export
    itself is recorded. Returns the number of entries written."""
    count = 0
    with out.open("w", newline="", encoding="utf-8") as handle:
        if fmt == "csv":
            writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS)
            writer.writeheader()
            for row in _stream(engine, since, until):
                writer.writerow(
                    {
                        **row,
                        "fields": " ".join(row["fields"]),
                        "detail": orjson.dumps(row["detail"]).decode() if row["detail"] is not None else "",
                    }
                )
                count += 1
        else:
            for row in _stream(engine, since, until):
                handle.write(orjson.dumps(row).decode() + "\n")
                count += 1
    with engine.begin() as connection:
        record(
            connection,
            Actor.system("audit-export"),
            [
                Entry(
                    "audit-export",
                    "accountability: audit log exported by an administrator",
                    detail={
                        "entries": count,
                        "format": fmt,
                        "since": since.isoformat() if since else None,
                        "until": until.isoformat() if until else None,
                    },
                )
            ],
        )
    return count
