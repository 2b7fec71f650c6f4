"""The read side: one handoff, the referrer's list, the navigator queue.

Two views of a handoff, chosen by who asks:

- the *referrer view* (the worker who created it, their supervisor): status, history with
  reasons, needs groups, the centre and the callback window. Never the navigator notes, and
  no personal data of the person (phone, name, note, contact details, exact location):
  once handed over, the referrer does not need them.
- the *navigator view* (the centre's navigators): everything needed to call back and help,
  decrypted, including navigator notes.

Every read is written to the audit log in the same transaction: one entry per handoff
shown, naming the fields shown.
"""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import orjson
from sqlalchemy import Connection, text

from service.auth.principal import Principal
from service.handoffs import audit
from service.handoffs.access import not_found, visible
from service.handoffs.crypto import key_ring
from service.handoffs.location import cell_text
from service.handoffs.model import OPEN_STATUSES, Status
from service.platform import moments
from service.platform.phones import tel_uri
from service.platform.problem_texts import field_problem
from service.platform.problems import Problem
from service.platform.settings import handoff_settings

# A change's updated_at is its transaction's start; it becomes visible at commit. Syncing
# from a little before "now" picks up changes that committed late (clients de-duplicate by
# id and version).
SYNC_OVERLAP = timedelta(seconds=60)

_HANDOFF_COLUMNS = """
    h.id, h.reference, h.version, h.status, h.urgency, h.needs, h.language, h.interpreter_needed, h.centre_id,
    h.owner_issuer, h.owner_subject, h.requested_by_issuer, h.requested_by_subject, h.requested_by_role,
    h.requesting_agency, h.consent, h.contact_method, h.location_precision, h.h3_r7, h.suggested_services,
    h.callback_earliest, h.callback_latest, h.created_at, h.updated_at, h.closed_at, h.purged_at,
    h.note_enc IS NOT NULL AS has_note,
    c.name_en AS centre_name_en, c.name_fr AS centre_name_fr, c.phone AS centre_phone, c.tel_uri AS centre_tel
"""
_PERSONAL_COLUMNS = "h.phone_enc, h.name_enc, h.note_enc, h.contact_enc, h.location_enc"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


# --------------------------------------------------------------------------- cursors


def encode_cursor(*values) -> str:
    return (
        base64.urlsafe_b64encode(orjson.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values]))
        .decode()
        .rstrip("=")
    )


def cursor_rank(value) -> int:
    """A queue rank: 0 (urgent) or 1."""
    if type(value) is not int or value not in (0, 1):
        raise ValueError("not a rank")
    return value


def cursor_moment(value) -> datetime:
    """A time the server wrote: ISO 8601 with an offset, within the range of times the API
    takes (service/platform/moments.py)."""
    if not isinstance(value, str):
        raise ValueError("not a time")
    moment = datetime.fromisoformat(value)  # which stops at a NUL: hence the round trip below
    if moment.tzinfo is None or not moments.in_range(moment) or moment.isoformat() != value:
        raise ValueError("not a time the server wrote")
    return moment


def cursor_id(value) -> UUID:
    if not isinstance(value, str):
        raise ValueError("not an id")
    return UUID(value)


def decode_cursor(cursor: str, *fields: Callable[[object], object]) -> list:
    """The values of a cursor made by ``encode_cursor``, each read by its field's parser
    (``cursor_rank``, ``cursor_moment``, ``cursor_id``): the one place a cursor's text is
    trusted, so a tampered one is a 422 naming ``query.cursor``, never a database error."""
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != len(fields):
            raise ValueError("not a cursor")
        return [parse(value) for parse, value in zip(fields, values, strict=True)]
    except (ValueError, TypeError, OverflowError, binascii.Error, orjson.JSONDecodeError):
        raise Problem(
            422,
            "validation-error",
            "cursor is not one this API returned; start again without it.",
            title="Invalid request",
            detail_fr="Ce curseur ne vient pas de cette API : recommencez sans curseur.",
            errors=[field_problem("query.cursor", "cursor_invalid")],
        ) from None


# --------------------------------------------------------------------------- history


def _history(connection: Connection, handoff_ids: list[UUID], *, navigator: bool) -> dict[UUID, list[dict]]:
    if not handoff_ids:
        return {}
    rows = (
        connection.execute(
            text("""
        SELECT handoff_id, at, kind, from_status, to_status, owner_subject,
               actor_issuer, actor_subject, actor_agency, actor_role, reason_enc
        FROM handoff_event WHERE handoff_id = ANY(:ids) ORDER BY handoff_id, id
    """),
            {"ids": handoff_ids},
        )
        .mappings()
        .all()
    )
    ring = key_ring()
    history: dict[UUID, list[dict]] = defaultdict(list)
    for row in rows:
        if row["kind"] != "status" and not navigator:
            continue
        entry = {
            "type": row["kind"],
            "status": row["to_status"],
            "from": row["from_status"],
            "at": _iso(row["at"]),
            "by": {"role": row["actor_role"], "agency": row["actor_agency"]},
            "reason": ring.decrypt(row["reason_enc"]),
        }
        if navigator:
            entry["by"]["subject"] = row["actor_subject"]
            if row["owner_subject"]:
                entry["owner"] = row["owner_subject"]
        history[row["handoff_id"]].append(entry)
    return history


# --------------------------------------------------------------------------- views


def _centre(row) -> dict:
    return {
        "id": row["centre_id"],
        "name_en": row["centre_name_en"],
        "name_fr": row["centre_name_fr"],
        "phone": row["centre_phone"],
        "tel": row["centre_tel"],
    }


def _window(row) -> dict | None:
    if row["callback_latest"] is None:
        return None
    return {"earliest": _iso(row["callback_earliest"]), "latest": _iso(row["callback_latest"])}


def _common(row) -> dict:
    return {
        "id": str(row["id"]),
        "reference": row["reference"],
        "version": row["version"],
        "status": row["status"],
        "urgency": row["urgency"],
        "language": row["language"],
        "interpreter_needed": row["interpreter_needed"],
        "centre": _centre(row),
        "requester": {
            "agency": row["requesting_agency"],
            "role": row["requested_by_role"],
            "subject": row["requested_by_subject"],
        },
        "consent": row["consent"],
        "suggested_services": [str(s) for s in row["suggested_services"]],
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "closed_at": _iso(row["closed_at"]),
        "purged": row["purged_at"] is not None,
    }


REFERRER_FIELDS = (
    "status",
    "history",
    "needs_groups",
    "centre",
    "callback_window",
    "contact_method",
    "location_precision",
)


def referrer_fields(history: list[dict]) -> tuple[str, ...]:
    """The fields a referrer view shows, for its audit entry: the status reasons too when the
    history shows any (they are decrypted for it)."""
    return REFERRER_FIELDS + (("status_reasons",) if any(entry["reason"] for entry in history) else ())


def referrer_view(row, history: list[dict]) -> dict:
    return {
        **_common(row),
        "needs": {"groups": list(row["needs"]), "has_note": row["has_note"]},
        "owner": {"centre_id": row["centre_id"], "claimed": row["owner_subject"] is not None},
        "contact": {"method": row["contact_method"], "callback_window": _window(row)},
        "location": {"precision": row["location_precision"]},
        "history": history,
        "links": {"self": f"/v1/handoffs/{row['id']}"},
    }


def _navigator_view(row, history: list[dict], notes: list[dict], principal: Principal) -> tuple[dict, tuple[str, ...]]:
    ring = key_ring()
    phone = ring.decrypt(row["phone_enc"])
    details = orjson.loads(ring.decrypt(row["contact_enc"])) if row["contact_enc"] is not None else {}
    exact = orjson.loads(ring.decrypt(row["location_enc"])) if row["location_enc"] is not None else None
    region = handoff_settings().phone_region
    view = {
        **_common(row),
        "needs": {"groups": list(row["needs"]), "note": ring.decrypt(row["note_enc"])},
        "person": {
            "name": ring.decrypt(row["name_enc"]),
            "language": row["language"],
            "interpreter_needed": row["interpreter_needed"],
        },
        "owner": {
            "centre_id": row["centre_id"],
            "navigator": row["owner_subject"],
            "mine": row["owner_issuer"] == principal.issuer and row["owner_subject"] == principal.subject,
        },
        "contact": {
            "method": row["contact_method"],
            "phone": phone,
            "tel": tel_uri(phone, region, separators=True) if phone else None,
            "safe_times": details.get("safe_times", []),
            "voicemail_ok": details.get("voicemail_ok", False),
            "alternative": details.get("alternative"),
            "callback_window": _window(row),
        },
        "location": {
            "precision": row["location_precision"],
            "cell": cell_text(row["h3_r7"]),
            "lat": exact["lat"] if exact else None,
            "lon": exact["lon"] if exact else None,
        },
        "history": history,
        "notes": notes,
        "links": {"self": f"/v1/navigator/handoffs/{row['id']}"},
    }
    shown = ["status", "history", "needs_groups", "contact_method", "location_cell"]
    shown += [
        name
        for name, present in (
            ("phone", phone),
            ("name", row["name_enc"]),
            ("note", row["note_enc"]),
            ("contact_details", row["contact_enc"]),
            ("location_exact", exact),
            ("navigator_notes", notes),
            ("status_reasons", any(e["reason"] for e in history)),
        )
        if present
    ]
    return view, tuple(shown)


def _notes(connection: Connection, handoff_id: UUID) -> list[dict]:
    ring = key_ring()
    rows = (
        connection.execute(
            text("""
        SELECT id, created_at, author_subject, author_agency, text_enc FROM handoff_note
        WHERE handoff_id = :id ORDER BY created_at, id
    """),
            {"id": handoff_id},
        )
        .mappings()
        .all()
    )
    return [
        {
            "id": str(r["id"]),
            "at": _iso(r["created_at"]),
            "author": r["author_subject"],
            "text": ring.decrypt(r["text_enc"]),
        }
        for r in rows
    ]


def _one(connection: Connection, principal: Principal, handoff_id: UUID, personal: bool):
    condition, params = visible(principal)
    columns = _HANDOFF_COLUMNS + (", " + _PERSONAL_COLUMNS if personal else "")
    row = (
        connection.execute(
            text(f"""
        SELECT {columns} FROM handoff h JOIN navigator_centre c ON c.id = h.centre_id
        WHERE h.id = :id AND {condition}
    """),
            {"id": handoff_id, **params},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise not_found(handoff_id)
    return row


def referrer_detail(connection: Connection, principal: Principal, handoff_id: UUID) -> dict:
    row = _one(connection, principal, handoff_id, personal=False)
    history = _history(connection, [row["id"]], navigator=False).get(row["id"], [])
    view = referrer_view(row, history)
    audit.record(
        connection,
        audit.Actor.of(principal),
        [audit.Entry("read", "referrer follows up on a handoff", row["id"], referrer_fields(history))],
    )
    return view


def navigator_detail(connection: Connection, principal: Principal, handoff_id: UUID) -> dict:
    row = _one(connection, principal, handoff_id, personal=True)
    history = _history(connection, [row["id"]], navigator=True).get(row["id"], [])
    view, shown = _navigator_view(row, history, _notes(connection, row["id"]), principal)
    audit.record(
        connection,
        audit.Actor.of(principal),
        [audit.Entry("read", "navigator works the handoff (call back, follow up)", row["id"], shown)],
    )
    return view


# --------------------------------------------------------------------------- lists


@dataclass(frozen=True)
class ReferrerListQuery:
    updated_after: datetime | None = None
    cursor: str | None = None
    limit: int = 50


def referrer_list(connection: Connection, principal: Principal, query: ReferrerListQuery) -> dict:
    """The caller's handoffs changed after ``updated_after`` (oldest change first), paged."""
    condition, params = visible(principal)
    clauses = [condition]
    if query.cursor:
        updated_at, last_id = decode_cursor(query.cursor, cursor_moment, cursor_id)
        clauses.append("(h.updated_at, h.id) > (CAST(:c_updated AS timestamptz), CAST(:c_id AS uuid))")
        params.update(c_updated=updated_at, c_id=last_id)
    elif query.updated_after is not None:
        clauses.append("h.updated_at > :updated_after")
        params["updated_after"] = query.updated_after
    now = connection.execute(text("SELECT now()")).scalar_one()
    rows = (
        connection.execute(
            text(f"""
        SELECT {_HANDOFF_COLUMNS} FROM handoff h JOIN navigator_centre c ON c.id = h.centre_id
        WHERE {" AND ".join(clauses)} ORDER BY h.updated_at, h.id LIMIT :limit
    """),
            {**params, "limit": query.limit + 1},
        )
        .mappings()
        .all()
    )
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    history = _history(connection, [r["id"] for r in rows], navigator=False)
    items = [referrer_view(r, history.get(r["id"], [])) for r in rows]
    audit.record(
        connection,
        audit.Actor.of(principal),
        [
            audit.Entry(
                "list", "referrer follows up on their handoffs", r["id"], referrer_fields(history.get(r["id"], []))
            )
            for r in rows
        ],
    )
    return {
        "handoffs": items,
        "next_cursor": encode_cursor(rows[-1]["updated_at"], str(rows[-1]["id"])) if more else None,
        "sync_from": None if more else _iso(now - SYNC_OVERLAP),
    }


@dataclass(frozen=True)
class QueueQuery:
    statuses: tuple[Status, ...] = OPEN_STATUSES
    urgency: str | None = None
    language: str | None = None
    region: tuple[int, int] | None = None  # range of r7 cells (service.handoffs.location.region_range)
    cursor: str | None = None
    limit: int = 50
    reference: str | None = None  # as stored, XXX-XXX (service.handoffs.reference.canonical)


QUEUE_FIELDS = (
    "status",
    "urgency",
    "needs_groups",
    "language",
    "contact_method",
    "callback_window",
    "location_cell",
    "owner",
)


def queue(connection: Connection, principal: Principal, query: QueueQuery) -> dict:
    """The centre's handoffs, urgent first, then oldest. No decrypted personal data: a
    navigator opens one (GET /v1/navigator/handoffs/{id}) to call back."""
    condition, params = visible(principal)
    clauses = [condition, "h.status = ANY(:statuses)"]
    params["statuses"] = [s.value for s in query.statuses]
    if query.urgency:
        clauses.append("h.urgency = :urgency")
        params["urgency"] = query.urgency
    if query.language:
        clauses.append("h.language = :language")
        params["language"] = query.language
    if query.region:
        clauses.append("h.h3_r7 BETWEEN :region_lo AND :region_hi")
        params.update(region_lo=query.region[0], region_hi=query.region[1])
    if query.reference:
        clauses.append("h.reference = :reference")
        params["reference"] = query.reference
    rank = "(CASE WHEN h.urgency = 'urgent' THEN 0 ELSE 1 END)"
    if query.cursor:
        last_rank, created_at, last_id = decode_cursor(query.cursor, cursor_rank, cursor_moment, cursor_id)
        clauses.append(
            f"({rank}, h.created_at, h.id) > (CAST(:c_rank AS int), CAST(:c_created AS timestamptz), CAST(:c_id AS uuid))"
        )
        params.update(c_rank=last_rank, c_created=created_at, c_id=last_id)
    rows = (
        connection.execute(
            text(f"""
        SELECT {_HANDOFF_COLUMNS}, {rank} AS rank FROM handoff h JOIN navigator_centre c ON c.id = h.centre_id
        WHERE {" AND ".join(clauses)} ORDER BY {rank}, h.created_at, h.id LIMIT :limit
    """),
            {**params, "limit": query.limit + 1},
        )
        .mappings()
        .all()
    )
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    items = [
        {
            "id": str(r["id"]),
            "reference": r["reference"],
            "version": r["version"],
            "status": r["status"],
            "urgency": r["urgency"],
            "needs": {"groups": list(r["needs"]), "has_note": r["has_note"]},
            "language": r["language"],
            "interpreter_needed": r["interpreter_needed"],
            "contact_method": r["contact_method"],
            "callback_window": _window(r),
            "location": {"precision": r["location_precision"], "cell": cell_text(r["h3_r7"])},
            "owner": {
                "navigator": r["owner_subject"],
                "mine": r["owner_issuer"] == principal.issuer and r["owner_subject"] == principal.subject,
            },
            "requester": {"agency": r["requesting_agency"]},
            "created_at": _iso(r["created_at"]),
            "updated_at": _iso(r["updated_at"]),
            "links": {"self": f"/v1/navigator/handoffs/{r['id']}"},
        }
        for r in rows
    ]
    audit.record(
        connection,
        audit.Actor.of(principal),
        [audit.Entry("queue", "navigator triages the queue", r["id"], QUEUE_FIELDS) for r in rows],
    )
    next_cursor = None
    if more:  # then rows holds query.limit rows (at least 1)
        last = rows[-1]
        next_cursor = encode_cursor(last["rank"], last["created_at"], str(last["id"]))
    return {"handoffs": items, "next_cursor": next_cursor}
