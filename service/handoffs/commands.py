"""The write side: create a handoff, claim it, change its status, add a navigator note.

Each function runs inside the caller's transaction (the idempotency layer commits the change
together with the stored response), writes the history, the outbox event and the audit
entry in that same transaction, and returns a response body that holds no personal data
(it may be stored and replayed).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Connection, text

from service.auth.principal import Principal, Role
from service.handoffs import audit, centres, outbox, reference
from service.handoffs.access import not_found, visible
from service.handoffs.callback import callback_window
from service.handoffs.crypto import key_ring
from service.handoffs.location import cell_r7
from service.handoffs.model import (
    OPEN_STATUSES,
    ConsentScope,
    ContactMethod,
    HandoffCreate,
    Status,
    TransitionRequest,
)
from service.handoffs.transitions import ACTOR_OF_ROLE, Actor, Refusal, check, is_final
from service.platform.problem_texts import status_fr
from service.platform.problems import Problem
from service.platform.settings import handoff_settings

EMERGENCY = {
    "tel": "tel:911",
    "en": "If anyone is in immediate danger, call 911 now: a navigator callback is not an emergency response.",
    "fr": "En cas de danger immédiat, composez le 911 : le rappel d'un intervenant n'est pas une intervention d'urgence.",
}

# Dates in the person's words, whatever the server's locale.
_DAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)

_REFUSAL_STATUS = {Refusal.NO_SUCH_TRANSITION: 409, Refusal.NOT_YOURS_TO_MAKE: 403, Refusal.REASON_MISSING: 422}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


# --------------------------------------------------------------------------- create


def _contact_method(request: HandoffCreate) -> ContactMethod:
    contact = request.contact
    if contact is not None and contact.do_not_contact:
        return ContactMethod.DO_NOT_CONTACT
    if contact is not None and contact.phone and request.has_scope(ConsentScope.CONTACT):
        return ContactMethod.PHONE
    return ContactMethod.NONE


def _contact_details(request: HandoffCreate) -> str | None:
    """Safe times, voicemail and the alternative: kept (encrypted) only with contact consent."""
    contact = request.contact
    if contact is None or not request.has_scope(ConsentScope.CONTACT):
        return None
    details = {
        "safe_times": [t.model_dump(mode="json") for t in contact.safe_times],
        "voicemail_ok": contact.voicemail_ok,
        "alternative": contact.alternative,
    }
    if not details["safe_times"] and not details["alternative"] and not contact.voicemail_ok:
        return None
    return orjson.dumps(details).decode()


def _exact_location(request: HandoffCreate) -> str | None:
    location = request.location
    if location is None or not location.navigator_must_attend or not request.has_scope(ConsentScope.LOCATION):
        return None
    return orjson.dumps({"lat": round(location.lat, 6), "lon": round(location.lon, 6)}).decode()


def _consent(request: HandoffCreate, principal: Principal, now: datetime) -> str | None:
    consent = request.consent
    if consent is None:
        return None
    return orjson.dumps(
        {
            "type": consent.type,
            "scope": [s.value for s in consent.scope],
            "script_version": consent.script_version,
            "recorded_by": consent.recorded_by or principal.subject,
            "recorded_at": (consent.recorded_at or now).isoformat(),
        }
    ).decode()


def _next_steps(method: ContactMethod, centre: centres.Centre, window: tuple[datetime, datetime] | None) -> dict:
    if method is ContactMethod.PHONE and window is not None:
        latest = window[1].astimezone(ZoneInfo(centre.hours.timezone))
        day, month = latest.weekday(), latest.month - 1
        when_en = f"{_DAYS_EN[day]} {latest.day} {_MONTHS_EN[month]} {latest:%H:%M}"
        when_fr = f"{_DAYS_FR[day]} {latest.day} {_MONTHS_FR[month]} à {latest:%H} h {latest:%M}"
        return {
            "en": f"A navigator from {centre.name_en} will call back, at the latest by {when_en}.",
            "fr": f"Un intervenant de {centre.name_fr} rappellera au plus tard le {when_fr}.",
        }
    if method is ContactMethod.PHONE:
        return {
            "en": f"A navigator from {centre.name_en} will call back as soon as the line reopens.",
            "fr": f"Un intervenant de {centre.name_fr} rappellera dès la réouverture de la ligne.",
        }
    if method is ContactMethod.DO_NOT_CONTACT:
        return {
            "en": f"The person asked not to be called; {centre.name_en} will follow up as agreed.",
            "fr": f"La personne ne veut pas être appelée; {centre.name_fr} assurera le suivi convenu.",
        }
    return {
        "en": f"Nothing was kept to reach the person: give them the navigator line, {centre.phone}.",
        "fr": f"Aucun moyen de joindre la personne n'a été conservé : donnez-lui le numéro {centre.phone}.",
    }


# A reference code drawn twice (1 in 729 million per handoff) inserts nothing: draw again.
_INSERT_HANDOFF = text("""
    INSERT INTO handoff (id, reference, status, urgency, needs, language, interpreter_needed, centre_id,
                         requested_by_issuer, requested_by_subject, requested_by_role, requesting_agency,
                         consent, contact_method, phone_enc, name_enc, note_enc, contact_enc, location_enc,
                         location_precision, h3_r7, suggested_services, callback_earliest, callback_latest,
                         created_at, created_week, updated_at)
    VALUES (:id, :reference, 'requested', :urgency, :needs, :language, :interpreter_needed, :centre_id,
            :issuer, :subject, :role, :agency,
            CAST(:consent AS jsonb), :contact_method, :phone_enc, :name_enc, :note_enc, :contact_enc, :location_enc,
            :location_precision, :h3_r7, :suggested_services, :callback_earliest, :callback_latest,
            now(), date_trunc('week', now() AT TIME ZONE :week_tz)::date, now())
    ON CONFLICT (reference) DO NOTHING
    RETURNING id, reference, status, urgency, needs, centre_id, version, created_at, updated_at
""")
REFERENCE_ATTEMPTS = 5

_INSERT_EVENT = text("""
    INSERT INTO handoff_event (handoff_id, kind, from_status, to_status, owner_subject,
                               actor_issuer, actor_subject, actor_agency, actor_role, reason_enc)
    VALUES (:handoff_id, :kind, :from_status, :to_status, :owner_subject,
            :issuer, :subject, :agency, :role, :reason_enc)
""")


def _actor_params(principal: Principal) -> dict:
    return {
        "issuer": principal.issuer,
        "subject": principal.subject,
        "agency": principal.agency,
        "role": principal.role.value,
    }


def create(connection: Connection, principal: Principal, request: HandoffCreate) -> dict:
    """Create a handoff; returns the response body (no personal data)."""
    ring = key_ring()
    # Stored times come from the database clock; this one only dates the callback estimate
    # and a consent recorded without a time.
    now = datetime.now(UTC)
    location = request.location
    centre = centres.route(connection, location.lat if location else None, location.lon if location else None)
    if centre is None:
        raise Problem(
            503,
            "no-navigator-centre",
            "No navigator centre serves this area and the default centre is not loaded; "
            "an administrator must run `fieldnav centres load`.",
            title="No navigator centre",
            title_fr="Aucun centre du 211",
            headers={"Retry-After": "300"},
        )
    method = _contact_method(request)
    keep_contact = request.has_scope(ConsentScope.CONTACT)
    contact = request.contact
    exact = _exact_location(request)
    precision = "exact" if exact else ("cell" if location else "none")
    window = (
        callback_window(centre.hours, centre.callback_within_h[request.urgency.value], now)
        if method is ContactMethod.PHONE
        else None
    )
    values = {
        # (PHONE is chosen only for a request with a contact: _contact_method)
        "phone_enc": ring.encrypt(contact.phone) if method is ContactMethod.PHONE and contact is not None else None,
        "name_enc": ring.encrypt(contact.name) if keep_contact and contact and contact.name else None,
        "note_enc": ring.encrypt(request.needs.note),
        "contact_enc": ring.encrypt(_contact_details(request)),
        "location_enc": ring.encrypt(exact),
    }
    params = {
        "id": uuid.uuid4(),
        "urgency": request.urgency.value,
        "needs": request.needs.groups,
        "language": request.language,
        "interpreter_needed": request.interpreter_needed,
        "centre_id": centre.id,
        **_actor_params(principal),
        "consent": _consent(request, principal, now),
        "contact_method": method.value,
        **values,
        "location_precision": precision,
        "h3_r7": cell_r7(location.lat, location.lon) if location else None,
        "suggested_services": list(request.suggested_services),
        "callback_earliest": window[0] if window else None,
        "callback_latest": window[1] if window else None,
        "week_tz": handoff_settings().stats_timezone,
    }
    for _ in range(REFERENCE_ATTEMPTS):
        row = connection.execute(_INSERT_HANDOFF, {**params, "reference": reference.new_reference()}).mappings().first()
        if row is not None:
            break
    else:
        raise RuntimeError(f"no free reference code in {REFERENCE_ATTEMPTS} draws")
    handoff_id = row["id"]
    connection.execute(
        _INSERT_EVENT,
        {
            "handoff_id": handoff_id,
            "kind": "status",
            "from_status": None,
            "to_status": Status.REQUESTED.value,
            "owner_subject": None,
            **_actor_params(principal),
            "reason_enc": None,
        },
    )
    outbox.enqueue(connection, outbox.CREATED, dict(row))
    stored = [name.removesuffix("_enc") for name, value in values.items() if value is not None]
    audit.record(
        connection,
        audit.Actor.of(principal),
        [
            audit.Entry(
                "create",
                "referral to a 211 navigator",
                handoff_id,
                tuple(stored),
                {"status": "requested", "centre_id": centre.id, "contact_method": method.value, "location": precision},
            )
        ],
    )
    return {
        "id": str(handoff_id),
        "reference": row["reference"],
        "status": Status.REQUESTED.value,
        "urgency": request.urgency.value,
        "created_at": _iso(row["created_at"]),
        "centre": centre.summary(),
        "navigator_line": centre.tel_uri,
        "callback_window": {
            "earliest": _iso(window[0]),
            "latest": _iso(window[1]),
            "within_open_hours_h": centre.callback_within_h[request.urgency.value],
        }
        if window
        else None,
        "contact": {
            "method": method.value,
            "phone_kept": method is ContactMethod.PHONE,
            "anonymous": method is ContactMethod.NONE and not values["name_enc"],
        },
        "location": {"precision": precision},
        "next_steps": _next_steps(method, centre, window),
        "emergency": EMERGENCY,
        "links": {"self": f"/v1/handoffs/{handoff_id}"},
    }


# --------------------------------------------------------------------------- changes

_LOCK = """
    SELECT h.id, h.status, h.urgency, h.needs, h.centre_id, h.version, h.created_at, h.updated_at, h.closed_at,
           h.owner_issuer, h.owner_subject, h.purged_at
    FROM handoff h WHERE h.id = :id AND {visible} FOR UPDATE
"""

_UPDATE_STATUS = text("""
    UPDATE handoff SET status = :status, owner_issuer = :owner_issuer, owner_subject = :owner_subject,
                       version = version + 1, updated_at = now(),
                       closed_at = CASE WHEN :final THEN coalesce(closed_at, now()) ELSE NULL END
    WHERE id = :id
    RETURNING id, reference, status, urgency, needs, centre_id, version, created_at, updated_at, closed_at
""")


def _lock(connection: Connection, principal: Principal, handoff_id: uuid.UUID) -> dict:
    condition, params = visible(principal)
    row = connection.execute(text(_LOCK.format(visible=condition)), {"id": handoff_id, **params}).mappings().first()
    if row is None:
        raise not_found(handoff_id)
    return dict(row)


def _owned_by(row: dict, principal: Principal) -> bool:
    return row["owner_issuer"] == principal.issuer and row["owner_subject"] == principal.subject


def _claimed_by_another(handoff_id) -> Problem:
    return Problem(
        409,
        "claimed-by-another",
        f"Handoff {handoff_id} is claimed by another navigator; claim it with take_over to act on it.",
        title="Claimed by another navigator",
        title_fr="Pris en charge par un autre intervenant",
        detail_fr=f"Un autre intervenant s’occupe du transfert {handoff_id} ; reprenez-le avec take_over pour agir.",
    )


def _change_response(row: dict, previous: str, changed: bool = True) -> dict:
    return {
        "id": str(row["id"]),
        "status": row["status"],
        "previous_status": previous,
        "changed": changed,
        "version": row["version"],
        "updated_at": _iso(row["updated_at"]),
        "closed_at": _iso(row.get("closed_at")),
        "links": {"self": f"/v1/navigator/handoffs/{row['id']}"},
    }


def _apply_status(
    connection: Connection,
    principal: Principal,
    row: dict,
    target: Status,
    reason: str | None,
    owner: tuple[str | None, str | None],
    action: str = "transition",
    purpose: str = "handoff status change",
) -> dict:
    updated = dict(
        connection.execute(
            _UPDATE_STATUS,
            {
                "id": row["id"],
                "status": target.value,
                "owner_issuer": owner[0],
                "owner_subject": owner[1],
                "final": is_final(target),
            },
        )
        .mappings()
        .one()
    )
    connection.execute(
        _INSERT_EVENT,
        {
            "handoff_id": row["id"],
            "kind": "status",
            "from_status": row["status"],
            "to_status": target.value,
            "owner_subject": owner[1] if owner[1] != row["owner_subject"] else None,
            **_actor_params(principal),
            "reason_enc": key_ring().encrypt(reason),
        },
    )
    outbox.enqueue(connection, outbox.STATUS_CHANGED, updated)
    changed = ("status",) + (("owner",) if owner[1] != row["owner_subject"] else ()) + (("reason",) if reason else ())
    audit.record(
        connection,
        audit.Actor.of(principal),
        [audit.Entry(action, purpose, row["id"], changed, {"from": row["status"], "to": target.value})],
    )
    return updated


def transition(connection: Connection, principal: Principal, handoff_id: uuid.UUID, request: TransitionRequest) -> dict:
    """Move a handoff to another status, if the state machine and the caller allow it."""
    actor = ACTOR_OF_ROLE.get(principal.role)
    row = _lock(connection, principal, handoff_id)
    current = Status(row["status"])
    if actor is None:
        raise not_found(handoff_id)
    verdict = check(current, request.status, actor, request.reason)
    if not verdict.allowed:
        assert verdict.refusal is not None  # check() names the refusal of every verdict it refuses
        raise Problem(
            _REFUSAL_STATUS[verdict.refusal],
            verdict.refusal.value,
            verdict.detail,
            detail_fr=verdict.detail_fr,
            current_status=current.value,
        )
    owner = (row["owner_issuer"], row["owner_subject"])
    if actor is Actor.NAVIGATOR:
        if current is Status.REQUESTED and request.status is Status.ACCEPTED:
            owner = (principal.issuer, principal.subject)
        elif current is not Status.REQUESTED and row["owner_subject"] is not None and not _owned_by(row, principal):
            raise _claimed_by_another(handoff_id)
        elif current is not Status.REQUESTED and row["owner_subject"] is None:
            owner = (principal.issuer, principal.subject)
    updated = _apply_status(connection, principal, row, request.status, request.reason, owner)
    return _change_response(updated, current.value)


def claim(connection: Connection, principal: Principal, handoff_id: uuid.UUID, take_over: bool) -> dict:
    """A navigator takes a handoff: requested -> accepted, owned by them. Claiming an open
    handoff already owned by someone else needs ``take_over``."""
    if principal.role is not Role.NAVIGATOR:
        raise not_found(handoff_id)
    row = _lock(connection, principal, handoff_id)
    current = Status(row["status"])
    me = (principal.issuer, principal.subject)
    if current is Status.REQUESTED:
        updated = _apply_status(
            connection, principal, row, Status.ACCEPTED, None, me, "claim", "navigator takes the handoff"
        )
        return _change_response(updated, current.value)
    if current not in OPEN_STATUSES:
        raise Problem(
            409,
            Refusal.NO_SUCH_TRANSITION.value,
            f"The handoff is {current} (closed); it cannot be claimed.",
            detail_fr=f"Ce transfert est {status_fr(current)} (fermé) ; personne ne peut plus le prendre en charge.",
            current_status=current.value,
        )
    if _owned_by(row, principal):
        return _change_response(row, current.value, changed=False)
    if row["owner_subject"] is not None and not take_over:
        raise _claimed_by_another(handoff_id)
    updated = dict(
        connection.execute(
            text("""
        UPDATE handoff SET owner_issuer = :issuer, owner_subject = :subject, version = version + 1, updated_at = now()
        WHERE id = :id RETURNING id, reference, status, urgency, needs, centre_id, version, created_at, updated_at, closed_at
    """),
            {"id": row["id"], "issuer": me[0], "subject": me[1]},
        )
        .mappings()
        .one()
    )
    connection.execute(
        _INSERT_EVENT,
        {
            "handoff_id": row["id"],
            "kind": "owner",
            "from_status": current.value,
            "to_status": current.value,
            "owner_subject": principal.subject,
            **_actor_params(principal),
            "reason_enc": None,
        },
    )
    outbox.enqueue(connection, outbox.CLAIMED, updated)
    audit.record(
        connection,
        audit.Actor.of(principal),
        [
            audit.Entry(
                "claim",
                "navigator takes the handoff",
                row["id"],
                ("owner",),
                {"status": current.value, "take_over": row["owner_subject"] is not None},
            )
        ],
    )
    return _change_response(updated, current.value)


def add_note(connection: Connection, principal: Principal, handoff_id: uuid.UUID, note: str) -> dict:
    """A navigator note: seen by the centre's navigators only, encrypted, purged with the rest."""
    if principal.role is not Role.NAVIGATOR:
        raise not_found(handoff_id)
    row = _lock(connection, principal, handoff_id)
    if row["purged_at"] is not None:
        raise Problem(
            409,
            "purged",
            "This handoff's personal data was purged after it closed; notes can no longer be added.",
            detail_fr="Les données personnelles de ce transfert ont été supprimées après sa fermeture ; "
            "on ne peut plus y ajouter de notes.",
        )
    note_id = uuid.uuid4()
    created_at = connection.execute(
        text("""
        INSERT INTO handoff_note (id, handoff_id, author_issuer, author_subject, author_agency, text_enc)
        VALUES (:id, :handoff_id, :issuer, :subject, :agency, :text_enc) RETURNING created_at
    """),
        {
            "id": note_id,
            "handoff_id": row["id"],
            "issuer": principal.issuer,
            "subject": principal.subject,
            "agency": principal.agency,
            "text_enc": key_ring().encrypt(note),
        },
    ).scalar_one()
    audit.record(
        connection,
        audit.Actor.of(principal),
        [audit.Entry("note", "navigator case note", row["id"], ("navigator_notes",), {"note_id": str(note_id)})],
    )
    return {
        "id": str(note_id),
        "handoff_id": str(row["id"]),
        "created_at": _iso(created_at),
        "links": {"handoff": f"/v1/navigator/handoffs/{row['id']}"},
    }
