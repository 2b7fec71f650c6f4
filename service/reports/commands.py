"""Make and resolve field reports.

Each runs in the caller's transaction (for a new report, the idempotency layer's: the report,
its webhook event, the live fields and the stored answer commit together), holding the
directory lock first (service/directory/lock.py), since both rewrite the live fields of the
service's sites (service/directory/live_sites.py): once committed, every result, sync delta and tile
URL of the service shows the warning (or stops showing it) within a second or two.

Rules, as the field and the 211 centre see them:

- A report goes to the 211 centre whose area holds the service's site: the site nearest to
  where the reporter stands when they send a location, else the service's first located
  site (by location id); outside every area, or for a service with no located site, the
  default centre (FIELDNAV_HANDOFF_DEFAULT_CENTRE), or no centre when that is not loaded
  (admins still see it).
- A confidential service's report never keeps the reporter's location: next to a shelter
  for people fleeing violence it would place the shelter. The answer says so
  (``location_kept: false``).
- One open report per person (token issuer and subject), kind and service: another one is
  409 ``report-exists`` naming the open one (``report_id``), until the centre resolves it.
- At most FIELDNAV_REPORTS_PER_HOUR reports per person in any hour (resolved ones count):
  beyond, 429 ``too-many-reports`` with ``Retry-After`` (when the oldest leaves the hour).
- Resolving is final: a second resolution is 409 ``report-resolved``. ``resolved_by`` keeps
  the resolver's role and agency ("navigator|211-east"); who exactly is in the audit log.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text

from service.auth.principal import Principal
from service.capacity.grants import service_not_found
from service.directory import live_sites
from service.directory import lock as directory_lock
from service.handoffs import audit, centres
from service.platform.hourly_cap import HourlyCap
from service.platform.problems import Problem
from service.platform.settings import capacity_settings, report_settings
from service.reports import events, queries
from service.reports.model import ReportCreate, ResolveRequest

_SERVICE = text("""
    SELECT s.id, s.name, EXISTS (SELECT 1 FROM service_site ss WHERE ss.service_id = s.id AND ss.is_private) AS confidential
    FROM service s WHERE s.id = :id
""")
# The reported site: the nearest to the reporter, else the first by location id.
_SITE = text("""
    SELECT ST_Y(geom) AS lat, ST_X(geom) AS lon FROM service_site
    WHERE service_id = :id AND geom IS NOT NULL
    ORDER BY geom <-> ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326), location_id
    LIMIT 1
""")
# The partial unique index field_report_one_open decides "already reported", race-free.
_INSERT = text("""
    INSERT INTO field_report (id, service_id, kind, note, location, centre_id, reporter_key, reporter_role,
                              reporter_agency)
    VALUES (:id, :service_id, :kind, :note, ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326),
            :centre_id, :reporter_key, :reporter_role, :reporter_agency)
    ON CONFLICT (service_id, kind, reporter_key) WHERE status = 'open' DO NOTHING
    RETURNING id, service_id, kind, note, status, centre_id, created_at
""")
_OPEN_ONE = text("""
    SELECT id FROM field_report WHERE service_id = :service_id AND kind = :kind AND reporter_key = :reporter_key
      AND status = 'open'
""")
_LAST_HOUR = text("""
    SELECT count(*) AS made, ceil(extract(epoch FROM min(created_at) + interval '1 hour' - now())) AS wait_s
    FROM field_report WHERE reporter_key = :reporter_key AND created_at > now() - interval '1 hour'
""")


def _centre_id(connection: Connection, service_id: uuid.UUID, request: ReportCreate) -> str | None:
    near = request.location
    site = connection.execute(
        _SITE, {"id": service_id, "lat": near.lat if near else None, "lon": near.lon if near else None}
    ).first()
    centre = centres.route(connection, site.lat if site else None, site.lon if site else None)
    return centre.id if centre else None


def _already_reported(connection: Connection, params: dict) -> Problem:
    existing = connection.execute(_OPEN_ONE, params).scalar_one()
    return Problem(
        409,
        "report-exists",
        f"You already have an open {params['kind']} report about this service ({existing}); the 211 centre "
        "has it, and it stays until they resolve it.",
        detail_fr=f"Vous avez déjà un signalement ouvert de ce type pour ce service ({existing}) ; le centre "
        "du 211 l’a reçu, et il reste actif jusqu’à ce qu’il le règle.",
        title="Already reported",
        title_fr="Déjà signalé",
        report_id=str(existing),
    )


_CAP = HourlyCap("too-many-reports", "reports", "signalements", "Too many reports", "Trop de signalements")


def create(connection: Connection, principal: Principal, service_id: uuid.UUID, request: ReportCreate) -> dict:
    """Make a report; returns the answer (no note, no location: it is stored for replays)."""
    service = connection.execute(_SERVICE, {"id": service_id}).first()
    if service is None:
        raise service_not_found(service_id)
    directory_lock.hold_within(connection, capacity_settings().lock_timeout_s)
    kept = request.location if not service.confidential else None
    params = {
        "id": uuid.uuid4(),
        "service_id": service_id,
        "kind": request.kind,
        "note": request.note,
        "lat": kept.lat if kept else None,
        "lon": kept.lon if kept else None,
        "centre_id": _centre_id(connection, service_id, request),
        "reporter_key": principal.key,
        "reporter_role": principal.role.value,
        "reporter_agency": principal.agency,
    }
    report = connection.execute(_INSERT, params).mappings().first()
    if report is None:
        raise _already_reported(connection, params)
    _CAP.check(connection, _LAST_HOUR, {"reporter_key": principal.key}, report_settings().per_hour)
    events.enqueue_created(connection, dict(report), service.name)
    live_sites.refresh(connection, [service_id])
    return {
        "id": str(report["id"]),
        "service_id": str(service_id),
        "kind": report["kind"],
        "status": report["status"],
        "created_at": report["created_at"].isoformat(),
        "centre_id": report["centre_id"],
        "location_kept": kept is not None,
        "links": {"self": f"/v1/admin/reports/{report['id']}"},
    }


_LOCK = (
    "SELECT r.id, r.service_id, r.status, r.resolved_at FROM field_report r WHERE r.id = :id AND {visible} FOR UPDATE"
)
_RESOLVE = text("""
    UPDATE field_report SET status = 'resolved', resolved_at = now(), resolved_by = :resolved_by,
                            resolution_note = :resolution_note
    WHERE id = :id
""")


def _already_resolved(report_id: uuid.UUID, resolved_at) -> Problem:
    return Problem(
        409,
        "report-resolved",
        f"Report {report_id} was already resolved ({resolved_at.isoformat()}).",
        detail_fr=f"Le signalement {report_id} est déjà réglé ({resolved_at.isoformat()}).",
        title="Report already resolved",
        title_fr="Signalement déjà réglé",
        resolved_at=resolved_at.isoformat(),
    )


def resolve(connection: Connection, principal: Principal, report_id: uuid.UUID, request: ResolveRequest) -> dict:
    """Resolve a report the caller may see (404 otherwise); returns it as the desk sees it.
    The row lock makes two navigators resolving at once resolve it once: the second waits,
    then finds it resolved (409)."""
    directory_lock.hold_within(connection, capacity_settings().lock_timeout_s)
    condition, params = queries.visible(principal)
    row = connection.execute(text(_LOCK.format(visible=condition)), {"id": report_id, **params}).first()
    if row is None:
        raise queries.not_found(report_id)
    if row.status == "resolved":
        raise _already_resolved(report_id, row.resolved_at)
    connection.execute(
        _RESOLVE,
        {
            "id": report_id,
            "resolved_by": f"{principal.role.value}|{principal.agency}",
            "resolution_note": request.resolution_note,
        },
    )
    live_sites.refresh(connection, [row.service_id])
    resolved = queries.fetch(connection, principal, report_id)
    shown = ("report_note", "resolution_note") if resolved.note is not None else ("resolution_note",)
    audit.record(
        connection,
        audit.Actor.of(principal),
        [audit.Entry("report-resolve", queries.AUDIT_PURPOSE, None, shown, {"report_ids": [str(report_id)]})],
    )
    return queries.item(resolved)
