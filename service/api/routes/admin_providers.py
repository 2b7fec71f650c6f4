"""Provider accounts (admin): which organizations' services each may update
(service/capacity/grants.py). The same as `fieldnav provider grant|revoke|list`."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from service.api.dependencies import EngineDep
from service.api.errors import problem_responses
from service.api.responses import json_response
from service.api.schemas_live import ProviderAccountList, ProviderGrant
from service.api.security import PrincipalDep
from service.capacity import grants
from service.platform.problems import Problem
from service.platform.settings import auth_settings

router = APIRouter(prefix="/v1/admin", tags=["admin"])

Subject = Annotated[
    str,
    Path(
        min_length=1, max_length=200, description="The provider account's subject (`sub`).", examples=["front-desk-1"]
    ),
]
OrganizationId = Annotated[
    UUID, Path(description="An HSDS organization's id.", examples=["3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"])
]
Issuer = Annotated[
    str | None,
    Query(
        max_length=500,
        description=("The account's token issuer (`iss`); default: fieldnav's own (FIELDNAV_AUTH_ISSUER)."),
        examples=["fieldnav"],
    ),
]


@router.get(
    "/providers",
    response_model=ProviderAccountList,
    summary="Provider accounts and their organizations (admin)",
    responses=problem_responses(401, 403, 429),
)
def list_providers(engine: EngineDep) -> Response:
    with engine.connect() as connection:
        return json_response({"providers": grants.list_grants(connection)})


@router.put(
    "/providers/{subject}/organizations/{organization_id}",
    response_model=ProviderGrant,
    summary="Let a provider account update an organization's services (admin)",
    description="201 when granted now, 200 when the account already had it. The organization must be in the directory.",
    responses={201: {"description": "Granted"}, **problem_responses(401, 403, 404, 422, 429)},
)
def grant_organization(
    engine: EngineDep, principal: PrincipalDep, subject: Subject, organization_id: OrganizationId, issuer: Issuer = None
) -> Response:
    issuer = issuer or auth_settings().issuer
    try:
        with engine.begin() as connection:
            created = grants.grant(
                connection, issuer=issuer, subject=subject, organization_id=organization_id, granted_by=principal.key
            )
    except grants.UnknownOrganization:
        raise Problem(
            404,
            "not-found",
            f"No organization with id {organization_id}.",
            detail_fr=f"Aucun organisme ne porte l’identifiant {organization_id}.",
        ) from None
    return json_response(
        {"issuer": issuer, "subject": subject, "organization_id": str(organization_id), "created": created},
        201 if created else 200,
    )


@router.delete(
    "/providers/{subject}/organizations/{organization_id}",
    status_code=204,
    summary="Take an organization's services away from a provider account (admin)",
    responses=problem_responses(401, 403, 404, 422, 429),
)
def revoke_organization(
    engine: EngineDep, subject: Subject, organization_id: OrganizationId, issuer: Issuer = None
) -> Response:
    with engine.begin() as connection:
        removed = grants.revoke(
            connection, issuer=issuer or auth_settings().issuer, subject=subject, organization_id=organization_id
        )
    if not removed:
        raise Problem(
            404,
            "not-found",
            "This account has no grant for this organization.",
            detail_fr="Ce compte n’a aucun droit sur cet organisme.",
        )
    return Response(status_code=204, headers={"Cache-Control": "no-store"})
