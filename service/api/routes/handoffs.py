"""Handoffs, referrer side: one tap to hand a person over to a 211 navigator, then follow it.

Also the admin's audit log read (GET /v1/audit). Logs name handoff ids and statuses only.
"""

from __future__ import annotations

import logging
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import Connection

from service.api.dependencies import EngineDep
from service.api.errors import problem_responses
from service.api.idempotent import IDEMPOTENCY_KEY_DOC, IdempotencyKey, idempotent_post, idempotent_responses
from service.api.request_params import HandoffId, require_utc_offset
from service.api.responses import json_response
from service.api.schemas import IsoDateTime
from service.api.security import PrincipalDep
from service.handoffs import audit, commands, queries
from service.handoffs.model import HandoffCreate, TransitionRequest
from service.handoffs.schemas import AuditPage, Handoff, HandoffCreated, HandoffPage, StatusChange

router = APIRouter(prefix="/v1", tags=["handoffs"])
# Ids and statuses only: never bodies, phone numbers, names or notes.
log = logging.getLogger("fieldnav.handoffs")


@router.post(
    "/handoffs",
    status_code=201,
    response_model=HandoffCreated,
    summary="Hand a person over to a 211 navigator (one tap)",
    description=(
        "Creates a handoff routed to the navigator centre serving the location (else the default centre) and "
        "answers with the navigator line (tel: URI) and the expected callback window. Requires an "
        "`Idempotency-Key`: retries with the same key and body replay the first response, so a phone retrying "
        "a queued tap creates one handoff. Without `contact` consent no phone number, name or contact details "
        "are kept (the handoff is anonymous); the exact location is kept only with `location` consent when "
        "`navigator_must_attend`. Imminent danger is 911: the answer says so."
    ),
    openapi_extra=IDEMPOTENCY_KEY_DOC,
    responses={
        201: {
            "headers": {
                "Location": {"description": "The handoff's URL (GET /v1/handoffs/{id}).", "schema": {"type": "string"}}
            }
        },
        **{s: r for s, r in idempotent_responses("no-navigator-centre").items() if s != 404},
    },
)
def create_handoff(
    request: Request,
    engine: EngineDep,
    principal: PrincipalDep,
    body: HandoffCreate,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def work(connection: Connection):
        created = commands.create(connection, principal, body)
        return 201, created, {"Location": created["links"]["self"]}

    return idempotent_post(
        request,
        engine,
        principal,
        idempotency_key,
        body.model_dump(mode="json"),
        work,
        log=log,
        subject="handoff",
        action="created",
    )


@router.get(
    "/handoffs",
    response_model=HandoffPage,
    summary="My handoffs (field worker) or my agency's (supervisor), changed since a time",
    description=(
        "Status and history of the caller's own handoffs (a supervisor: their agency's), oldest change first. "
        "No personal data of the person and never navigator notes. Page with `cursor`; on the last page "
        "`sync_from` is the `updated_after` to use next time."
    ),
    responses=problem_responses(401, 403, 422, 429),
)
def list_handoffs(
    engine: EngineDep,
    principal: PrincipalDep,
    updated_after: Annotated[
        IsoDateTime | None,
        Query(
            description="ISO 8601 with offset: only handoffs changed after it.", examples=["2026-11-25T09:00:00-05:00"]
        ),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            max_length=200,
            description="From `next_cursor` of the previous page.",
            examples=["WyIyMDI2LTExLTI1VDE0OjAzOjAwKzAwOjAwIiwiNWIwZTNjMWUtOGE0Zi00YjZlLTlkMmEtMWYzYzVlN2E5YjBkIl0"],
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    query = queries.ReferrerListQuery(require_utc_offset(updated_after, "updated_after"), cursor, limit)
    with engine.begin() as connection:
        return json_response(queries.referrer_list(connection, principal, query))


@router.get(
    "/handoffs/{handoff_id}",
    response_model=Handoff,
    summary="One of my handoffs: status and history",
    description="The referrer view: no personal data of the person, never navigator notes. 404 for a handoff "
    "the caller may not see (whether or not it exists).",
    responses=problem_responses(401, 403, 404, 422, 429),
)
def get_handoff(engine: EngineDep, principal: PrincipalDep, handoff_id: HandoffId) -> Response:
    with engine.begin() as connection:
        return json_response(queries.referrer_detail(connection, principal, handoff_id))


@router.post(
    "/handoffs/{handoff_id}/transitions",
    response_model=StatusChange,
    summary="Cancel a handoff, or mark it entered in error (requesting agency)",
    description="The requesting side may move a handoff to `cancelled` (reason required) while it is open, or "
    "to `entered-in-error` at any time. Other changes are the navigator's (403); changes the state "
    "machine does not have get 409. Requires an `Idempotency-Key`.",
    openapi_extra=IDEMPOTENCY_KEY_DOC,
    responses=idempotent_responses("invalid-transition", "transition-forbidden", "reason-required"),
)
def referrer_transition(
    request: Request,
    engine: EngineDep,
    principal: PrincipalDep,
    handoff_id: HandoffId,
    body: TransitionRequest,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def work(connection: Connection):
        return 200, commands.transition(connection, principal, handoff_id, body), {}

    return idempotent_post(
        request,
        engine,
        principal,
        idempotency_key,
        body.model_dump(mode="json"),
        work,
        log=log,
        subject="handoff",
        action="transition",
    )


@router.get(
    "/audit",
    response_model=AuditPage,
    tags=["audit"],
    summary="The audit log of handoff personal data (admin)",
    description="Every read and change of handoff personal data: who, what (fields), when, why. Append-only. "
    "Page with `after_id`. `fieldnav audit export` writes the same as CSV or JSON lines.",
    responses=problem_responses(401, 403, 422, 429),
)
def audit_log(
    engine: EngineDep,
    since: Annotated[
        IsoDateTime | None,
        Query(description="ISO 8601 with offset (inclusive).", examples=["2026-11-01T00:00:00-04:00"]),
    ] = None,
    until: Annotated[
        IsoDateTime | None,
        Query(description="ISO 8601 with offset (exclusive).", examples=["2026-12-01T00:00:00-05:00"]),
    ] = None,
    handoff_id: Annotated[
        UUID | None,
        Query(description="Only entries about this handoff.", examples=["5b0e3c1e-8a4f-4b6e-9d2a-1f3c5e7a9b0d"]),
    ] = None,
    after_id: Annotated[int, Query(ge=0, description="From `next_after_id` of the previous page.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Response:
    with engine.connect() as connection:
        entries = audit.read_entries(
            connection,
            since=require_utc_offset(since, "since"),
            until=require_utc_offset(until, "until"),
            handoff_id=handoff_id,
            after_id=after_id,
            limit=limit + 1,
        )
    more = len(entries) > limit
    entries = entries[:limit]
    return json_response({"entries": entries, "next_after_id": entries[-1]["id"] if more else None})
