"""Live capacity: providers (their granted services) and admins update the counts of free
beds, spaces or appointments; everyone sees them within seconds (service/directory/live_sites.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from uuid import UUID

from fastapi import APIRouter, Request, Response
from sqlalchemy import Connection

from service.api.dependencies import EngineDep
from service.api.errors import problem_responses
from service.api.idempotent import IDEMPOTENCY_KEY_DOC, IdempotencyKey, idempotent_responses, outcome_response, run_once
from service.api.request_params import ServiceId
from service.api.responses import json_response
from service.api.schemas_live import (
    BulkCapacityWritten,
    CapacityDetail,
    CapacityWritten,
    ProviderServiceList,
)
from service.api.security import PrincipalDep
from service.capacity import grants, store
from service.capacity.merge import stale_after, with_freshness
from service.capacity.model import BulkCapacityUpdate, CapacityUpdate
from service.capacity.units import unit_codes
from service.platform.problem_texts import field_problem
from service.platform.problems import Problem
from service.platform.settings import capacity_settings

router = APIRouter(prefix="/v1", tags=["capacity"])
log = logging.getLogger("fieldnav.capacity")


def _served(entries: list[dict], now: datetime) -> list[dict]:
    return [with_freshness(entry, now) for entry in entries]


def _entry_field(problem: store.ItemProblem, position: int | None) -> str:
    """The field a problem found by the database is about; ``position``: the item's place in
    a bulk request (None: a single update)."""
    base = "body" if position is None else f"body.items.{position}"
    if problem.entry is None:
        return "path.service_id" if position is None else f"{base}.service_id"
    field = "available" if problem.code == "available_above_maximum" else "updated"
    return f"{base}.capacities.{problem.entry}.{field}"


def _rejected(rejected: store.Rejected, service_id: UUID) -> Problem:
    """A single update refused by store.write: 404 (no such service, or not the provider's),
    422 (more free than the maximum the service keeps), or 409 (a count older than the one
    shown)."""
    if any(p.code == "service_not_found" for p in rejected.problems):
        raise grants.service_not_found(service_id)
    errors = [field_problem(_entry_field(p, None), p.code, **p.ctx) for p in rejected.problems]
    if any(p.code == "available_above_maximum" for p in rejected.problems):
        return Problem(
            422,
            "validation-error",
            "More available than the maximum the service keeps; send the maximum "
            "too, or check the count. Nothing was changed.",
            detail_fr="Le nombre disponible dépasse le maximum du service ; envoyez aussi le maximum, ou "
            "vérifiez le compte. Rien n’a changé.",
            title="Invalid request",
            errors=errors,
        )
    first = next(p for p in rejected.problems if p.code == "capacity_outdated")
    return Problem(
        409,
        "capacity-outdated",
        f"A newer count is already shown ({first.ctx['as_of']}); nothing was changed. Send the current count "
        "with a later time, or without a time.",
        detail_fr=f"Un compte plus récent est déjà affiché ({first.ctx['as_of']}) ; rien n’a changé. Envoyez le "
        "compte actuel avec une heure plus récente, ou sans heure.",
        title="Count older than the one shown",
        errors=errors,
    )


def _bulk_rejected(body: BulkCapacityUpdate, problems: list[store.ItemProblem]) -> Problem:
    """422 naming every item's problems: those of their content (the model) and those the
    database found in the other items, in request order."""
    found = [
        (
            e.position,
            {
                **field_problem("body." + ".".join(str(part) for part in e.loc), e.code, **(e.ctx or {})),
                "message": e.message,
            },
        )
        for e in body.refused
    ]
    for p in problems:
        position = body.position(p.item)
        found.append((position, field_problem(_entry_field(p, position), p.code, **p.ctx)))
    errors = [error for _, error in sorted(found, key=lambda pair: pair[0])]
    return Problem(
        422,
        "validation-error",
        f"{len(errors)} problem(s) in the update; nothing was changed.",
        detail_fr=f"{len(errors)} problème(s) dans la mise à jour ; rien n’a été changé.",
        title="Invalid request",
        errors=errors,
    )


def _log(principal, service_ids: list[UUID], replayed: bool) -> None:
    # Ids and counts of services only; never a token or a body.
    log.info(
        "capacity updated for %d service(s) by a %s%s",
        len(service_ids),
        principal.role.value,
        " (replayed)" if replayed else "",
        extra={"event": "capacity.updated", "service_ids": [str(i) for i in service_ids[:20]]},
    )


@router.put(
    "/services/{service_id}/capacity",
    response_model=CapacityWritten,
    summary="Update a service's live counts (provider, admin)",
    description=(
        "The current counts of one service, one entry per unit (HSDS 3.1 `service_capacity`): `available`, an "
        "optional `maximum`, an optional `updated` (default: now). Units not listed keep their count. Seen by "
        "nearest, search, service details, `has_capacity`, sync deltas and tile URLs within 2 s on every server. "
        "Every change is kept with who made it. A provider may update only the services of the organizations it "
        "is granted (any other: 404). Requires an `Idempotency-Key`: a retry replays the first answer."
    ),
    openapi_extra=IDEMPOTENCY_KEY_DOC,
    responses={**idempotent_responses("capacity-outdated"), **problem_responses(503, types=("directory-busy",))},
)
def put_capacity(
    request: Request,
    engine: EngineDep,
    principal: PrincipalDep,
    service_id: ServiceId,
    body: CapacityUpdate,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def work(connection: Connection):
        try:
            version, now = store.write(
                connection, principal, [store.ServiceCounts(service_id, body.capacities)], via="single"
            )
        except store.Rejected as rejected:
            raise _rejected(rejected, service_id) from None
        shown = store.current(connection, [service_id])[service_id]
        return (
            200,
            {"service_id": str(service_id), "capacities": _served(shown["capacities"], now), "data_version": version},
            {},
        )

    outcome = run_once(request, engine, principal, idempotency_key, body.model_dump(mode="json"), work)
    _log(principal, [service_id], outcome.replayed)
    return outcome_response(outcome)


@router.post(
    "/capacity",
    response_model=BulkCapacityWritten,
    summary="Update the live counts of many services at once (provider, admin)",
    description=(
        "For providers with many services or a system of their own. All or nothing: when any item has a "
        "problem (a service that does not exist or is not yours, a count older than the one shown, a bad "
        "value), nothing is changed and the 422 lists every item's problems in `errors` "
        "(`body.items.3.capacities.0.updated`). Requires an `Idempotency-Key`."
    ),
    openapi_extra=IDEMPOTENCY_KEY_DOC,
    responses={**idempotent_responses(), **problem_responses(503, types=("directory-busy",))},
)
def post_capacity(
    request: Request,
    engine: EngineDep,
    principal: PrincipalDep,
    body: BulkCapacityUpdate,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    max_items = capacity_settings().max_bulk_items
    if body.size > max_items:
        raise Problem(
            422,
            "validation-error",
            f"At most {max_items} services per update; split it.",
            detail_fr=f"Au plus {max_items} services par mise à jour : divisez-la.",
            title="Invalid request",
            errors=[field_problem("body.items", "too_long", max_length=max_items, actual_length=body.size)],
        )
    ids = [item.service_id for item in body.items]
    updates = [store.ServiceCounts(i.service_id, i.capacities) for i in body.items]
    if body.refused:
        # Nothing will be written: tell every item's problems, the database's of the others too.
        with engine.connect() as connection:
            problems = store.check(connection, principal, updates, datetime.now(UTC))
        raise _bulk_rejected(body, problems)

    def work(connection: Connection):
        try:
            version, now = store.write(connection, principal, updates, via="bulk")
        except store.Rejected as rejected:
            raise _bulk_rejected(body, rejected.problems) from None
        shown = store.current(connection, ids)
        items = [{"service_id": str(i), "capacities": _served(shown[i]["capacities"], now)} for i in ids]
        return 200, {"data_version": version, "items": items}, {}

    outcome = run_once(request, engine, principal, idempotency_key, body.model_dump(mode="json"), work)
    _log(principal, ids, outcome.replayed)
    return outcome_response(outcome)


@router.get(
    "/services/{service_id}/capacity",
    response_model=CapacityDetail,
    summary="A service's counts and their last changes (provider, admin)",
    responses=problem_responses(401, 403, 404, 422, 429),
)
def get_capacity(engine: EngineDep, principal: PrincipalDep, service_id: ServiceId) -> Response:
    now = datetime.now(UTC)
    with engine.connect() as connection:
        grants.require(connection, principal, service_id)
        names = store.names(connection, service_id)
        shown = store.current(connection, [service_id])[service_id]
        changes = store.history(connection, service_id)
    return json_response(
        {
            "service_id": str(service_id),
            **names,
            "capacities": _served(shown["capacities"], now),
            "units": list(unit_codes()),
            "stale_after_s": int(stale_after().total_seconds()),
            "history": changes,
        }
    )


@router.get(
    "/provider/services",
    response_model=ProviderServiceList,
    summary="The services this provider account may update, with their counts (provider)",
    description="Every service of the organizations the account is granted, with the counts it shows and any "
    "unresolved field report about it. What the provider view of the app lists.",
    responses=problem_responses(401, 403, 429),
)
def provider_services(engine: EngineDep, principal: PrincipalDep) -> Response:
    now = datetime.now(UTC)
    with engine.connect() as connection:
        services = grants.services_of(connection, principal)
        ids = [s["id"] for s in services]
        shown = store.current(connection, ids)
    listed = [
        {
            "service_id": str(s["id"]),
            "name": s["name"],
            "status": s["status"],
            "organization_id": str(s["organization_id"]),
            "organization_name": s["organization_name"],
            "capacities": _served(shown[s["id"]]["capacities"], now),
            "open_reports": shown[s["id"]]["open_reports"],
        }
        for s in services
    ]
    return json_response(
        {"services": listed, "units": list(unit_codes()), "stale_after_s": int(stale_after().total_seconds())}
    )
