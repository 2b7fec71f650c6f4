"""Handoffs, navigator side: the centre's queue, one handoff in full, claim, status changes,
notes. A navigator token's agency is its centre id; a handoff of another centre is 404.

Also the administration of navigator centres (admin): the centres loaded and the webhook
deliveries, dead letters included.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response
from sqlalchemy import Connection

from service.api.dependencies import EngineDep
from service.api.errors import problem_responses
from service.api.idempotent import IDEMPOTENCY_KEY_DOC, IdempotencyKey, idempotent_post, idempotent_responses
from service.api.request_params import HandoffId
from service.api.responses import json_response
from service.api.security import PrincipalDep
from service.handoffs import centres, commands, queries, webhooks
from service.handoffs import reference as references
from service.handoffs.location import region_range
from service.handoffs.model import OPEN_STATUSES, ClaimRequest, NoteRequest, Status, TransitionRequest, Urgency
from service.handoffs.schemas import CentreList, DeliveryList, Handoff, NoteCreated, QueuePage, StatusChange
from service.platform.problem_texts import field_problem
from service.platform.problems import Problem

router = APIRouter(prefix="/v1", tags=["navigator"])
# Ids and statuses only: never bodies, phone numbers, names or notes.
log = logging.getLogger("fieldnav.handoffs")


def _statuses(values: list[str] | None) -> tuple[Status, ...]:
    codes = [c.strip() for v in values or [] for c in v.split(",") if c.strip()]
    if not codes:
        return OPEN_STATUSES
    unknown = [c for c in codes if c not in {s.value for s in Status}]
    if unknown:
        choices = ", ".join(s.value for s in Status)
        raise Problem(
            422,
            "validation-error",
            f"Unknown status {', '.join(unknown)}; use {choices}.",
            title="Invalid request",
            detail_fr=f"Statut inconnu : {', '.join(unknown)}. Utilisez : {choices}.",
            errors=[field_problem("query.status", "unknown_status", codes=[c], choices=choices) for c in unknown],
        )
    return tuple(Status(c) for c in dict.fromkeys(codes))


def _region(region: str | None) -> tuple[int, int] | None:
    if region is None:
        return None
    try:
        return region_range(region.strip().lower())
    except ValueError as error:
        raise Problem(
            422,
            "validation-error",
            f"region must be an H3 cell of resolution 0 to 7 ({error}).",
            title="Invalid request",
            detail_fr="region doit être une cellule H3 de résolution 0 à 7.",
            errors=[field_problem("query.region", "region_invalid")],
        ) from None


@router.get(
    "/navigator/queue",
    response_model=QueuePage,
    summary="The centre's handoffs: urgent first, then oldest",
    description="Open handoffs by default (requested, accepted, in-progress, on-hold). Filters: `status` (repeat "
    "or comma-separate), `urgency`, `language`, `region` (an H3 cell of resolution 0-7: handoffs whose "
    "r7 cell lies inside it), `reference` (the code a worker reads out, in any case, with or without the "
    "dash; it looks in every status unless `status` is given). No personal data: open a handoff to call "
    "back (audited).",
    responses=problem_responses(401, 403, 422, 429),
)
def navigator_queue(
    engine: EngineDep,
    principal: PrincipalDep,
    status: Annotated[list[str] | None, Query(description="Status(es) to show.", examples=["requested"])] = None,
    urgency: Annotated[Urgency | None, Query()] = None,
    language: Annotated[
        str | None, Query(pattern=r"^[a-z]{2,3}$", description="ISO 639 code.", examples=["fr"])
    ] = None,
    region: Annotated[
        str | None, Query(max_length=20, description="H3 cell (resolution 0-7).", examples=["852b9bcbfffffff"])
    ] = None,
    reference: Annotated[
        str | None,
        Query(pattern=references.QUERY_PATTERN, description="A handoff's reference code.", examples=["K7M-4QX"]),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            max_length=300,
            description="From `next_cursor` of the previous page.",
            examples=["WzEsIjIwMjYtMTEtMjVUMTQ6MDM6MDArMDA6MDAiLCI1YjBlM2MxZS04YTRmLTRiNmUtOWQyYS0xZjNjNWU3YTliMGQiXQ"],
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    statuses = _statuses(status) if status or reference is None else tuple(Status)
    query = queries.QueueQuery(
        statuses,
        urgency.value if urgency else None,
        language,
        _region(region),
        cursor,
        limit,
        reference=references.canonical(reference) if reference else None,
    )
    with engine.begin() as connection:
        return json_response(queries.queue(connection, principal, query))


@router.get(
    "/navigator/handoffs/{handoff_id}",
    response_model=Handoff,
    summary="One handoff in full, to call back and help (audited)",
    description="The navigator view: callback phone, name, note, contact details, consented exact location, "
    "history with reasons and navigator notes. Every read is written to the audit log.",
    responses=problem_responses(401, 403, 404, 422, 429),
)
def navigator_handoff(engine: EngineDep, principal: PrincipalDep, handoff_id: HandoffId) -> Response:
    with engine.begin() as connection:
        return json_response(queries.navigator_detail(connection, principal, handoff_id))


@router.post(
    "/navigator/handoffs/{handoff_id}/claim",
    response_model=StatusChange,
    summary="Take a handoff (requested -> accepted, owned by the caller)",
    description="Claiming an open handoff already owned by another navigator needs `take_over: true` (409 "
    "otherwise). Claiming one's own again changes nothing. Requires an `Idempotency-Key`.",
    openapi_extra=IDEMPOTENCY_KEY_DOC,
    responses=idempotent_responses("invalid-transition", "claimed-by-another"),
)
def claim_handoff(
    request: Request,
    engine: EngineDep,
    principal: PrincipalDep,
    handoff_id: HandoffId,
    body: Annotated[ClaimRequest | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    claim = body or ClaimRequest()

    def work(connection: Connection):
        return 200, commands.claim(connection, principal, handoff_id, claim.take_over), {}

    return idempotent_post(
        request,
        engine,
        principal,
        idempotency_key,
        claim.model_dump(mode="json"),
        work,
        log=log,
        subject="handoff",
        action="claim",
    )


@router.post(
    "/navigator/handoffs/{handoff_id}/transitions",
    response_model=StatusChange,
    summary="Change a handoff's status (navigator)",
    description="accepted, rejected*, in-progress, on-hold*, completed, failed* (*: `reason` required). Changes "
    "the state machine does not have get 409; changes that are the requester's (cancelled, "
    "entered-in-error) get 403; a handoff claimed by another navigator gets 409. Requires an "
    "`Idempotency-Key`.",
    openapi_extra=IDEMPOTENCY_KEY_DOC,
    responses=idempotent_responses(
        "invalid-transition", "transition-forbidden", "reason-required", "claimed-by-another"
    ),
)
def navigator_transition(
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


@router.post(
    "/navigator/handoffs/{handoff_id}/notes",
    status_code=201,
    response_model=NoteCreated,
    summary="Add a navigator note (never shown to the referring agency)",
    description="Encrypted at rest, purged with the handoff's other personal data. Requires an `Idempotency-Key`.",
    openapi_extra=IDEMPOTENCY_KEY_DOC,
    responses=idempotent_responses("purged"),
)
def add_note(
    request: Request,
    engine: EngineDep,
    principal: PrincipalDep,
    handoff_id: HandoffId,
    body: NoteRequest,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def work(connection: Connection):
        return 201, commands.add_note(connection, principal, handoff_id, body.text), {}

    return idempotent_post(
        request,
        engine,
        principal,
        idempotency_key,
        body.model_dump(mode="json"),
        work,
        log=log,
        subject="handoff",
        action="note",
    )


@router.get(
    "/admin/centres",
    response_model=CentreList,
    tags=["admin"],
    summary="Navigator centres loaded (admin)",
    description="Loaded with `fieldnav centres load FILE`. Webhook secrets are never shown (only whether a webhook is set).",
    responses=problem_responses(401, 403, 429),
)
def list_centres(engine: EngineDep) -> Response:
    with engine.connect() as connection:
        return json_response({"centres": centres.list_centres(connection)})


@router.get(
    "/admin/webhook-deliveries",
    response_model=DeliveryList,
    tags=["admin"],
    summary="Webhook events and their delivery state (admin); dead letters included",
    description="`state=dead`: events that exhausted their attempts (re-queue with `fieldnav worker --requeue-dead`).",
    responses=problem_responses(401, 403, 422, 429),
)
def webhook_deliveries(
    engine: EngineDep,
    state: Annotated[
        str | None,
        Query(pattern="^(pending|delivered|dead)$", description="Only events in this state.", examples=["dead"]),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    return json_response({"deliveries": webhooks.deliveries(engine, state, limit)})
