"""Wrong data reported from the field: workers report, the 211 centre's desk works the list.

The rules (routing, confidential services, duplicates, the hourly cap, who sees what, the
audit of notes) are in service/reports/; this module parses, authorises, calls one function
and shapes the answer. Logs name report and service ids only, never a note.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import Connection

from service.api.dependencies import EngineDep
from service.api.errors import problem_responses
from service.api.idempotent import IDEMPOTENCY_KEY_DOC, IdempotencyKey, idempotent_responses, outcome_response, run_once
from service.api.request_params import ServiceId, require_utc_offset
from service.api.responses import NO_STORE, json_response
from service.api.schemas import IsoDateTime
from service.api.schemas_reports import Report, ReportCreated, ReportPage
from service.api.security import PrincipalDep
from service.platform.problem_texts import field_problem
from service.platform.problems import Problem
from service.platform.settings import import_settings
from service.reports import commands, queries
from service.reports.model import KINDS, ReportCreate, ReportKind, ResolveRequest

router = APIRouter(prefix="/v1", tags=["reports"])
log = logging.getLogger("fieldnav.reports")

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

ReportId = Annotated[UUID, Path(description="The report's id.", examples=["4b8e2f0a-1c3d-4e5f-8a9b-0c1d2e3f4a5b"])]


def _kinds(values: list[str] | None) -> tuple[str, ...]:
    unknown = [v for v in values or [] if v not in KINDS]
    if unknown:
        choices = ", ".join(KINDS)
        raise Problem(
            422,
            "validation-error",
            f"Unknown kind of report; use {choices}.",
            title="Invalid request",
            detail_fr=f"Type de signalement inconnu. Utilisez : {choices}.",
            errors=[field_problem("query.kind", "unknown_report_kind", choices=choices) for _ in unknown],
        )
    return tuple(dict.fromkeys(values or []))


def report_filter(
    status: Annotated[
        str, Query(pattern="^(open|resolved|all)$", description="open (default), resolved or all.", examples=["open"])
    ] = "open",
    kind: Annotated[
        list[ReportKind] | None,
        Query(description="Only these kinds (repeat the parameter).", examples=[["closed_today", "wrong_phone"]]),
    ] = None,
    service_id: Annotated[
        UUID | None,
        Query(description="Only reports about this service.", examples=["9c1d7e2a-3b4f-4c5d-8e6f-7a8b9c0d1e2f"]),
    ] = None,
    centre: Annotated[
        str | None,
        Query(
            pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$",
            description=("Admins: only this centre's reports. A navigator always sees their own centre's."),
            examples=["211-east"],
        ),
    ] = None,
    since: Annotated[
        IsoDateTime | None,
        Query(description="Made at or after, ISO 8601 with offset.", examples=["2026-12-01T00:00:00-05:00"]),
    ] = None,
    until: Annotated[
        IsoDateTime | None,
        Query(description="Made before, ISO 8601 with offset.", examples=["2026-12-08T00:00:00-05:00"]),
    ] = None,
) -> queries.ReportFilter:
    return queries.ReportFilter(
        status=status,
        kinds=_kinds(kind),
        service_id=service_id,
        centre_id=centre,
        since=require_utc_offset(since, "since"),
        until=require_utc_offset(until, "until"),
    )


FilterDep = Annotated[queries.ReportFilter, Depends(report_filter)]


@router.post(
    "/services/{service_id}/reports",
    status_code=201,
    response_model=ReportCreated,
    summary="Report wrong data about a service (field worker, supervisor, navigator)",
    description=(
        "A closed door, a full shelter, a dead phone number, a wrong address or wrong hours. The report goes to the "
        "211 centre whose area holds the service's site (the one nearest to `location` when sent), which is told "
        "through its webhook (`report.created`). Until the centre resolves it, every result for the service carries "
        "the warning (`open_reports`: kind, newest time, count) within 2 s on every server: nearest, search, sync "
        "deltas, offline packs. A confidential service's report never keeps your location (`location_kept: false`). "
        "One open report per person, kind and service (409 `report-exists` names it); at most "
        "FIELDNAV_REPORTS_PER_HOUR (20) reports per person an hour (429 `too-many-reports`). Requires an "
        "`Idempotency-Key`: a phone sending a queued report again creates one report."
    ),
    openapi_extra=IDEMPOTENCY_KEY_DOC,
    responses={
        201: {
            "headers": {
                "Location": {
                    "description": "The report on the centre's desk (GET /v1/admin/reports/{id}).",
                    "schema": {"type": "string"},
                }
            }
        },
        **idempotent_responses("report-exists", "too-many-reports", "directory-busy"),
    },
)
def create_report(
    request: Request,
    engine: EngineDep,
    principal: PrincipalDep,
    service_id: ServiceId,
    body: ReportCreate,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def work(connection: Connection):
        created = commands.create(connection, principal, service_id, body)
        return 201, created, {"Location": created["links"]["self"]}

    outcome = run_once(request, engine, principal, idempotency_key, body.model_dump(mode="json"), work)
    created = orjson.loads(outcome.response.body)
    log.info(
        "field report %s about service %s: %s%s",
        created["id"],
        service_id,
        created["kind"],
        " (replayed)" if outcome.replayed else "",
        extra={"event": "report.created", "report_id": created["id"]},
    )
    return outcome_response(outcome, NO_STORE)


@router.get(
    "/admin/reports",
    response_model=ReportPage,
    tags=["admin"],
    summary="Field reports on the 211 centre's desk (navigator: own centre; admin: all)",
    description=(
        "Newest first, in the HSDS `Page` envelope (`page`, `per_page`), open reports by default. Each with the "
        "reporter's note and location (never for a confidential service), role and agency (never their account). "
        "Reading notes is written to the audit log (GET /v1/audit)."
    ),
    responses=problem_responses(401, 403, 422, 429),
)
def list_reports(
    engine: EngineDep,
    principal: PrincipalDep,
    wanted: FilterDep,
    page: Annotated[int, Query(ge=1, le=10_000, description="Page number, from 1.")] = 1,
    per_page: Annotated[int, Query(ge=1, le=100, description="Reports per page.")] = 20,
) -> Response:
    with engine.begin() as connection:
        return json_response(queries.page(connection, principal, wanted, page, per_page))


@router.get(
    "/admin/reports.csv",
    tags=["admin"],
    summary="Export field reports as CSV (navigator: own centre; admin: all)",
    description=(
        "The same filters as GET /v1/admin/reports, every matching report, newest first: UTF-8 CSV with a header "
        "row, streamed. A cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or "
        "carriage return) starts with an apostrophe. Audited like the list."
    ),
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The reports, one a row",
            "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
            "headers": {
                "Content-Disposition": {
                    "description": 'attachment; filename="fieldnav-reports-<date>.csv"',
                    "schema": {"type": "string"},
                }
            },
        },
        **problem_responses(401, 403, 422, 429),
    },
)
def export_reports(engine: EngineDep, principal: PrincipalDep, wanted: FilterDep) -> StreamingResponse:
    today = datetime.now(ZoneInfo(import_settings().default_timezone)).date().isoformat()
    return StreamingResponse(
        queries.export_csv(engine, principal, wanted),
        media_type=CSV_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="fieldnav-reports-{today}.csv"',
            "Cache-Control": NO_STORE,
        },
    )


@router.get(
    "/admin/reports/{report_id}",
    response_model=Report,
    tags=["admin"],
    summary="One field report (navigator: own centre; admin: any)",
    description="404 for a report outside the caller's centre (whether or not it exists). Audited when it has a note.",
    responses=problem_responses(401, 403, 404, 422, 429),
)
def get_report(engine: EngineDep, principal: PrincipalDep, report_id: ReportId) -> Response:
    with engine.begin() as connection:
        return json_response(queries.one(connection, principal, report_id))


@router.post(
    "/admin/reports/{report_id}/resolve",
    response_model=Report,
    tags=["admin"],
    summary="Resolve a field report with a note (navigator: own centre; admin: any)",
    description=(
        "Final: a resolved report is not changed again (409 `report-resolved`, also for the second of two navigators "
        "resolving at once). The warning leaves the service's results within 2 s everywhere, unless other reports "
        "of that kind stay open."
    ),
    responses=problem_responses(401, 403, 404, 409, 422, 429, 503, types=("report-resolved", "directory-busy")),
)
def resolve_report(engine: EngineDep, principal: PrincipalDep, report_id: ReportId, body: ResolveRequest) -> Response:
    with engine.begin() as connection:
        resolved = commands.resolve(connection, principal, report_id, body)
    log.info("field report %s resolved", report_id, extra={"event": "report.resolved", "report_id": str(report_id)})
    return json_response(resolved)
