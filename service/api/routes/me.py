"""Who am I: the caller as the server sees them (for the app's sign-in screen)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from service.api.errors import problem_responses
from service.api.security import PrincipalDep

router = APIRouter(prefix="/v1", tags=["identity"])


class Me(BaseModel):
    subject: str = Field(examples=["officer-4411"])
    agency: str = Field(examples=["toronto-police"])
    role: str = Field(examples=["field_worker"])
    issuer: str = Field(examples=["fieldnav"])


@router.get(
    "/me",
    response_model=Me,
    summary="The caller, as identified by their token",
    description="Never cached (`Cache-Control: no-store`): it names the token's user, and an app "
    "asking it wants to know whether the token works now.",
    responses=problem_responses(401, 429),
)
def me(principal: PrincipalDep, response: Response) -> Me:
    response.headers["Cache-Control"] = "no-store"
    return Me(subject=principal.subject, agency=principal.agency, role=principal.role.value, issuer=principal.issuer)
