"""Staying signed in on a shift: device-bound refresh tokens (service/auth/devices.py).

A field client registers a device key and renews its access token with it, without the user
typing anything, even after the access token expired. Users sign a device out; admins list
and revoke devices. Logs name device ids only, never a token.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

import jwt
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from service.api.dependencies import EngineDep
from service.api.errors import problem_responses
from service.api.policies import TOKEN_REFRESH
from service.api.responses import NO_STORE, json_response
from service.api.security import PrincipalDep, rate_limit
from service.auth import devices
from service.auth.dpop import InvalidProof, public_jwk, thumbprint, verify_proof
from service.platform.problem_texts import field_problem
from service.platform.problems import Problem
from service.platform.settings import auth_settings

router = APIRouter(prefix="/v1", tags=["identity"])
log = logging.getLogger("fieldnav.auth")

_JWS = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"
_B64URL_32 = r"^[A-Za-z0-9_-]{43}$"

# Read here and checked by the route (a missing or bad proof is the route's refusal, not
# FastAPI's 422); documented as required through DPOP_DOC.
DPoPProof = Annotated[str | None, Header(alias="DPoP", include_in_schema=False)]
DPOP_DOC = {
    "parameters": [
        {
            "name": "DPoP",
            "in": "header",
            "required": True,
            "description": "A DPoP proof (RFC 9449): a JWT signed with the device key, header `typ: dpop+jwt`, `alg: ES256`, "
            "`jwk` (the EC P-256 public key, no private members); claims `htm` (this request's method), `htu` "
            "(this request's URL without query and fragment), `iat` (now, within 90 s of the server's clock) "
            "and `jti` (a fresh random id). A new proof for every request.",
            "schema": {
                "type": "string",
                "pattern": _JWS,
                "maxLength": 4096,
                "examples": ["eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7fX0.eyJodG0iOiJQT1NUIn0.c2ln"],
            },
            "example": "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7fX0.eyJodG0iOiJQT1NUIn0.c2ln",
        }
    ]
}

REFRESH_REFUSED = "The refresh was refused: sign in again."
REFRESH_REFUSED_FR = "Le renouvellement a été refusé : reconnectez-vous."
DeviceId = Annotated[
    UUID, Path(description="The device's id (`device_id`).", examples=["0b6f3f8e-2c1d-4e5f-9a8b-7c6d5e4f3a2b"])
]


class PublicJwk(BaseModel):
    """The device's public key as WebCrypto exports it (`crypto.subtle.exportKey("jwk", publicKey)`);
    other public members (`key_ops`, `ext`) are ignored, private ones refused."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "kty": "EC",
                    "crv": "P-256",
                    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
                }
            ]
        },
    )

    kty: Literal["EC"]
    crv: Literal["P-256"]
    x: str = Field(pattern=_B64URL_32, description="base64url, 32 bytes.")
    y: str = Field(pattern=_B64URL_32, description="base64url, 32 bytes.")


class DeviceRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_jwk: PublicJwk


class DeviceRegistered(BaseModel):
    device_id: str = Field(examples=["0b6f3f8e-2c1d-4e5f-9a8b-7c6d5e4f3a2b"])
    refresh_token: str = Field(
        description="Keep it with the key; send it to POST /v1/auth/refresh. Shown once.",
        examples=["Q2hhbmdlIG1lOiB0aGlzIGlzIG5vdCBhIHJlYWwgdG9rZW4"],
    )
    refresh_expires_at: str = Field(
        description="Refresh before this (idle expiry), else sign in again.", examples=["2026-11-28T14:03:11+00:00"]
    )
    expires_at: str = Field(
        description="The device must sign in again at this time, whatever happens.",
        examples=["2026-12-25T14:03:11+00:00"],
    )


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(
        min_length=1, max_length=512, examples=["Q2hhbmdlIG1lOiB0aGlzIGlzIG5vdCBhIHJlYWwgdG9rZW4"]
    )


class TokenRenewal(BaseModel):
    access_token: str = Field(
        description="A new bearer token for this user (same subject, agency, role).",
        examples=["eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ3LTE3In0.c2ln"],
    )
    token_type: Literal["Bearer"]
    expires_at: str = Field(description="When the access token expires.", examples=["2026-11-26T02:03:11+00:00"])
    refresh_token: str = Field(
        description="The next refresh token: the one just sent is spent (sending it again revokes the device).",
        examples=["bmV4dCBvbmU6IHRoaXMgaXMgbm90IGEgcmVhbCB0b2tlbiBlaXRoZXI"],
    )
    refresh_expires_at: str = Field(examples=["2026-11-28T14:03:11+00:00"])


class Device(BaseModel):
    device_id: str = Field(examples=["0b6f3f8e-2c1d-4e5f-9a8b-7c6d5e4f3a2b"])
    issuer: str = Field(examples=["fieldnav"])
    subject: str = Field(examples=["badge-4411"])
    agency: str = Field(examples=["toronto-police"])
    role: str = Field(examples=["field_worker"])
    jwk_thumbprint: str = Field(
        description="RFC 7638 thumbprint of the device key.", examples=["NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"]
    )
    state: Literal["active", "idle", "expired", "revoked"]
    signed_in_at: str = Field(examples=["2026-11-25T14:03:11+00:00"])
    created_at: str = Field(examples=["2026-11-25T14:03:11+00:00"])
    last_used_at: str | None = Field(examples=["2026-11-26T02:01:40+00:00"])
    refresh_expires_at: str = Field(examples=["2026-11-29T02:01:40+00:00"])
    expires_at: str = Field(examples=["2026-12-25T14:03:11+00:00"])
    revoked_at: str | None = Field(examples=[None])
    revoked_reason: str | None = Field(examples=[None])


class DeviceList(BaseModel):
    devices: list[Device]


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=500, examples=["phone reported stolen"])


def _invalid_proof(error: InvalidProof) -> Problem:
    log.info("DPoP proof refused: %s", error)
    return Problem(
        400,
        "invalid-dpop-proof",
        "The DPoP proof is missing or invalid: sign a new proof for this request with the key being registered.",
        title="Invalid DPoP proof",
    )


def _signed_in_at(request: Request) -> datetime:
    """When the caller signed in: their token's ``auth_time`` (a token renewed through a device)
    or its ``iat``. The token's signature was checked by the access check already."""
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    claims = jwt.decode(token, options={"verify_signature": False})
    moments = [claims.get(name) for name in ("auth_time", "iat")]
    return datetime.fromtimestamp(
        min(m for m in moments if isinstance(m, (int, float)) and not isinstance(m, bool)), UTC
    )


@router.post(
    "/auth/devices",
    status_code=201,
    response_model=DeviceRegistered,
    summary="Register this device's key; get a refresh token",
    description=(
        "For fieldnav's own tokens (FIELDNAV_AUTH_ISSUER): the client makes an EC P-256 key pair it cannot export "
        "(WebCrypto, kept in IndexedDB), sends the public key and a `DPoP` proof signed with it, and gets a refresh "
        "token for POST /v1/auth/refresh. Registering the same key again (same user) replaces its refresh token. "
        "The device must sign in again `FIELDNAV_AUTH_DEVICE_MAX_DAYS` (30) after the sign-in this token comes "
        "from. Users of an agency identity provider renew through that provider (OIDC): 403 "
        "`renew-with-identity-provider`."
    ),
    openapi_extra=DPOP_DOC,
    responses=problem_responses(
        400, 401, 403, 409, 422, 429, types=("invalid-dpop-proof", "renew-with-identity-provider", "device-key-in-use")
    ),
)
def register_device(
    request: Request, engine: EngineDep, principal: PrincipalDep, body: DeviceRegistration, dpop: DPoPProof = None
) -> Response:
    if principal.issuer != auth_settings().issuer:
        raise Problem(
            403,
            "renew-with-identity-provider",
            "Your token comes from your agency's identity provider: renew it through that provider "
            "(OpenID Connect refresh), not through fieldnav.",
            title="Renew through your identity provider",
        )
    try:
        key = public_jwk(body.public_jwk.model_dump())
    except InvalidProof as error:
        raise Problem(
            422,
            "validation-error",
            f"public_jwk: {error}.",
            title="Invalid request",
            detail_fr="public_jwk doit être la clé publique EC P-256 de l’appareil, sans membres privés.",
            errors=[field_problem("body.public_jwk", "public_jwk_invalid")],
        ) from None
    try:
        proof = verify_proof(dpop, method=request.method, url=str(request.url))
    except InvalidProof as error:
        raise _invalid_proof(error) from None
    if proof.thumbprint != thumbprint(key):
        raise _invalid_proof(InvalidProof("proof signed by another key than public_jwk"))
    try:
        with engine.begin() as connection:
            registration = devices.register(
                connection, principal, key, proof.thumbprint, signed_in_at=_signed_in_at(request)
            )
    except devices.KeyInUse:
        raise Problem(
            409,
            "device-key-in-use",
            "This key belongs to another user's device: make a new key pair.",
            title="Device key in use",
        ) from None
    except devices.SignInTooOld:
        raise Problem(
            403,
            "forbidden",
            "This sign-in is too old to register a device: sign in again.",
            detail_fr="Cette connexion est trop ancienne pour enregistrer un appareil : reconnectez-vous.",
        ) from None
    return json_response(
        {
            "device_id": str(registration.device_id),
            "refresh_token": registration.refresh_token,
            "refresh_expires_at": registration.refresh_expires_at.isoformat(),
            "expires_at": registration.expires_at.isoformat(),
        },
        201,
    )


async def _limit_by_address(request: Request) -> None:
    # No token to count against: the caller's address is, as for other anonymous requests.
    await rate_limit(request, None, TOKEN_REFRESH)


@router.post(
    "/auth/refresh",
    response_model=TokenRenewal,
    summary="A new access token for a registered device (no bearer token needed)",
    description=(
        "Send the device's current refresh token and a `DPoP` proof signed with the device key; no `Authorization` "
        "header is needed (the access token may have expired). The answer holds a new access token "
        "(FIELDNAV_AUTH_ACCESS_TTL_H, 12 h, never past the device's `expires_at`) and a new refresh token: the one "
        "sent is spent, and sending a spent one again revokes the device. Refresh from one place at a time (e.g. "
        "the Web Locks API). Any refusal is 401 `unauthorized` with no reason: sign in again."
    ),
    openapi_extra=DPOP_DOC,
    dependencies=[Depends(_limit_by_address)],
    responses=problem_responses(401, 422, 429, 503),
)
def refresh(request: Request, engine: EngineDep, body: RefreshRequest, dpop: DPoPProof = None) -> Response:
    try:
        proof = verify_proof(dpop, method=request.method, url=str(request.url))
        renewal = devices.refresh(engine, body.refresh_token, proof.thumbprint)
    except (InvalidProof, devices.RefreshRefused) as error:
        log.info("refresh refused: %s", error)  # the reason stays in our logs, never in the answer
        raise Problem(
            401,
            "unauthorized",
            REFRESH_REFUSED,
            detail_fr=REFRESH_REFUSED_FR,
            headers={"WWW-Authenticate": 'DPoP algs="ES256"'},
        ) from None
    return json_response(
        {
            "access_token": renewal.access_token,
            "token_type": "Bearer",
            "expires_at": renewal.access_expires_at.isoformat(),
            "refresh_token": renewal.refresh_token,
            "refresh_expires_at": renewal.refresh_expires_at.isoformat(),
        }
    )


@router.delete(
    "/auth/devices/{device_id}",
    status_code=204,
    response_class=Response,
    summary="Sign this device out",
    description="Revokes the device (its refresh token no longer works) and its current access token, which every "
    "server refuses within FIELDNAV_AUTH_REVOCATION_CACHE_S. Only the device's own user (same issuer "
    "and subject); anyone else gets 404. Signing out a device already revoked is 204 too.",
    responses={204: {"description": "Signed out."}, **problem_responses(401, 404, 422, 429)},
)
def sign_out_device(engine: EngineDep, principal: PrincipalDep, device_id: DeviceId) -> Response:
    with engine.begin() as connection:
        if devices.revoke(connection, device_id, "signed out", owner=principal) is None:
            raise Problem(404, "not-found", f"No device {device_id}.", detail_fr=f"Aucun appareil {device_id}.")
    return Response(status_code=204, headers={"Cache-Control": NO_STORE})


@router.get(
    "/admin/devices",
    response_model=DeviceList,
    tags=["admin"],
    summary="Registered devices (admin), newest first",
    description="Devices of every issuer, optionally of one `subject` and/or `agency`. Never a token.",
    responses=problem_responses(401, 403, 422, 429),
)
def admin_devices(
    engine: EngineDep,
    subject: Annotated[
        str | None, Query(max_length=200, description="Only this user's devices.", examples=["badge-4411"])
    ] = None,
    agency: Annotated[
        str | None, Query(max_length=200, description="Only this agency's.", examples=["toronto-police"])
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    with engine.connect() as connection:
        return json_response({"devices": devices.list_devices(connection, subject=subject, agency=agency, limit=limit)})


@router.post(
    "/admin/devices/{device_id}/revoke",
    response_model=Device,
    tags=["admin"],
    summary="Revoke a device and its current access token (admin)",
    description="For a lost or stolen phone: the device's refresh token stops working at once, and its current "
    "access token within FIELDNAV_AUTH_REVOCATION_CACHE_S. A device already revoked keeps its first reason.",
    responses=problem_responses(401, 403, 404, 422, 429),
)
def admin_revoke_device(engine: EngineDep, device_id: DeviceId, body: RevokeRequest) -> Response:
    with engine.begin() as connection:
        device = devices.revoke(connection, device_id, body.reason)
    if device is None:
        raise Problem(404, "not-found", f"No device {device_id}.", detail_fr=f"Aucun appareil {device_id}.")
    log.info("device %s revoked by an admin", device_id, extra={"event": "auth.device_revoked_by_admin"})
    return json_response(device)
