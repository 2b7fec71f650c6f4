"""Devices that renew their user's access token on their own: device-bound refresh tokens.

A signed-in field client registers a P-256 public key (POST /v1/auth/devices, with a DPoP proof
made with that key, service/auth/dpop.py) and gets a refresh token. When its access token runs
out (at 2 a.m., mid-shift) it trades the refresh token, with a new proof by the same key
(POST /v1/auth/refresh), for a new access token and a new refresh token. The rules:

- Only the SHA-256 of the current refresh token is kept, never the token.
- A device is found by its key's RFC 7638 thumbprint: a refresh token is useless without the
  key, which the browser keeps non-extractable.
- Rotation with reuse detection (OAuth 2.0 Security BCP, RFC 9700 §4.14.2): every refresh
  replaces the refresh token; a token already rotated away, presented with the device's key,
  revokes the device (and its current access token).
- Idle expiry (FIELDNAV_AUTH_REFRESH_IDLE_H since the last refresh) and absolute expiry
  (FIELDNAV_AUTH_DEVICE_MAX_DAYS after the user's sign-in). Renewed access tokens carry that
  sign-in as ``auth_time``, so neither a refresh nor registering a new key with a renewed
  token moves the absolute end.
- Revoking a device (its user signing out, an admin, ``fieldnav token revoke-device``) also
  revokes its current access token through the revoked tokens table, so every worker refuses
  it within FIELDNAV_AUTH_REVOCATION_CACHE_S.

Only fieldnav's own tokens may register devices: users of an agency identity provider renew
through that provider (OIDC refresh), which fieldnav does not stand in for.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import Connection, Engine, text

from service.auth import revocation
from service.auth.principal import Principal, Role
from service.auth.tokens import create_token
from service.platform.settings import auth_settings

log = logging.getLogger("fieldnav.auth")

REUSE_REASON = "refresh token reused"


@dataclass(frozen=True)
class Registration:
    device_id: uuid.UUID
    refresh_token: str
    refresh_expires_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Renewal:
    device_id: uuid.UUID
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime


class RefreshRefused(Exception):
    """Why a refresh was refused. For logs only: the client learns no reason."""


class KeyInUse(Exception):
    """The key is registered to another user's device."""


class SignInTooOld(Exception):
    """The sign-in the registering token comes from is older than FIELDNAV_AUTH_DEVICE_MAX_DAYS."""


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _new_refresh_token() -> tuple[str, bytes]:
    """(token, its SHA-256): 256 random bits, so a plain hash is enough to keep (no salt, no KDF)."""
    token = secrets.token_urlsafe(32)
    return token, hashlib.sha256(token.encode()).digest()


def _refresh_expiry(now: datetime, expires_at: datetime) -> datetime:
    return min(now + timedelta(hours=auth_settings().refresh_idle_h), expires_at)


# --------------------------------------------------------------------------- register

_REGISTER = text("""
    INSERT INTO auth_device (id, issuer, subject, agency, role, jwk_thumbprint, public_jwk, refresh_hash,
                             refresh_expires_at, expires_at, signed_in_at, created_at, last_token_id)
    VALUES (:id, :issuer, :subject, :agency, :role, :thumbprint, CAST(:jwk AS jsonb), :hash,
            :refresh_expires_at, :expires_at, :signed_in_at, :now, :token_id)
    ON CONFLICT (jwk_thumbprint) DO UPDATE SET
        agency = EXCLUDED.agency, role = EXCLUDED.role, refresh_hash = EXCLUDED.refresh_hash,
        refresh_expires_at = EXCLUDED.refresh_expires_at, expires_at = EXCLUDED.expires_at,
        signed_in_at = EXCLUDED.signed_in_at, last_token_id = EXCLUDED.last_token_id,
        revoked_at = NULL, revoked_reason = NULL
    WHERE auth_device.issuer = EXCLUDED.issuer AND auth_device.subject = EXCLUDED.subject
    RETURNING id
""")


def register(
    connection: Connection,
    principal: Principal,
    jwk: dict,
    thumbprint: str,
    *,
    signed_in_at: datetime,
    now: datetime | None = None,
) -> Registration:
    """Register the key ``jwk`` (public members only, thumbprint already computed) for the
    caller, or replace the refresh token of the caller's device with that key (a revoked one
    is registered afresh). The caller's access token becomes the device's current one.
    KeyInUse when another user's device has the key; SignInTooOld when ``signed_in_at`` (the
    token's ``auth_time``, else its ``iat``) is FIELDNAV_AUTH_DEVICE_MAX_DAYS ago."""
    now = _now(now)
    expires_at = signed_in_at + timedelta(days=auth_settings().device_max_days)
    if expires_at <= now:
        raise SignInTooOld
    token, token_hash = _new_refresh_token()
    refresh_expires_at = _refresh_expiry(now, expires_at)
    device_id = connection.execute(
        _REGISTER,
        {
            "id": uuid.uuid4(),
            "issuer": principal.issuer,
            "subject": principal.subject,
            "agency": principal.agency,
            "role": principal.role.value,
            "thumbprint": thumbprint,
            "jwk": orjson.dumps(jwk).decode(),
            "hash": token_hash,
            "refresh_expires_at": refresh_expires_at,
            "expires_at": expires_at,
            "signed_in_at": signed_in_at,
            "now": now,
            "token_id": principal.token_id,
        },
    ).scalar_one_or_none()
    if device_id is None:
        raise KeyInUse
    log.info("device %s registered", device_id, extra={"event": "auth.device_registered"})
    return Registration(device_id, token, refresh_expires_at, expires_at)


# --------------------------------------------------------------------------- refresh

_DEVICE_COLUMNS = """id, issuer, subject, agency, role, jwk_thumbprint, refresh_hash, refresh_expires_at, expires_at,
                     signed_in_at, created_at, last_used_at, last_token_id, revoked_at, revoked_reason,
                     previous_refresh_hash, rotated_at"""
# A phone that sent a refresh whose answer was lost (a weak signal) still holds the token the
# rotation replaced: for this long after the rotation it may present it again, and gets a new
# one; any other old token is reuse (OAuth 2.0 Security BCP's "reuse interval").
LOST_ANSWER_GRACE = timedelta(seconds=60)


def _revoke_row(connection: Connection, row, reason: str, now: datetime) -> None:
    """Revoke the device (the first reason stays) and its current access token."""
    connection.execute(
        text("""
        UPDATE auth_device SET revoked_at = coalesce(revoked_at, :now), revoked_reason = coalesce(revoked_reason, :reason)
        WHERE id = :id
    """),
        {"id": row["id"], "now": now, "reason": reason},
    )
    if row["last_token_id"]:
        # Renewed tokens never outlive the device, so its end is when the entry may go.
        revocation.revoke(
            connection,
            row["last_token_id"],
            expires_at=row["expires_at"],
            reason=f"device {row['id']} revoked: {reason}",
        )


def _refusal(row, token_hash: bytes, now: datetime) -> str | None:
    if row is None:
        return "no device has this key"
    if row["revoked_at"] is not None:
        return "device revoked"
    if now >= row["expires_at"]:
        return "device past its absolute expiry"
    if now >= row["refresh_expires_at"]:
        return "device idle too long"
    if hmac.compare_digest(bytes(row["refresh_hash"]), token_hash):
        return None
    if _lost_answer_retry(row, token_hash, now):
        return None
    return REUSE_REASON


def _lost_answer_retry(row, token_hash: bytes, now: datetime) -> bool:
    previous, rotated_at = row["previous_refresh_hash"], row["rotated_at"]
    return (
        previous is not None
        and rotated_at is not None
        and now - rotated_at <= LOST_ANSWER_GRACE
        and hmac.compare_digest(bytes(previous), token_hash)
    )


def refresh(engine: Engine, refresh_token: str, thumbprint: str, *, now: datetime | None = None) -> Renewal:
    """A new access token and a new refresh token for the device with the key ``thumbprint``
    (from a checked DPoP proof), or RefreshRefused. A refresh token other than the current
    one revokes the device (committed before RefreshRefused is raised). Concurrent refreshes of
    one device are serialised (row lock): the second presents a rotated token."""
    now = _now(now)
    token_hash = hashlib.sha256(refresh_token.encode()).digest()
    settings = auth_settings()
    with engine.begin() as connection:
        row = (
            connection.execute(
                text(f"SELECT {_DEVICE_COLUMNS} FROM auth_device WHERE jwk_thumbprint = :thumbprint FOR UPDATE"),
                {"thumbprint": thumbprint},
            )
            .mappings()
            .first()
        )
        refusal = _refusal(row, token_hash, now)
        if refusal == REUSE_REASON:
            _revoke_row(connection, row, REUSE_REASON, now)
        if refusal is None:
            assert row is not None  # _refusal refuses when no device has the key
            lifetime = min(timedelta(hours=settings.access_ttl_h), row["expires_at"] - now)
            access_token, token_id = create_token(
                agency=row["agency"],
                role=Role(row["role"]),
                subject=row["subject"],
                ttl=lifetime,
                now=now,
                auth_time=row["signed_in_at"],
            )
            new_token, new_hash = _new_refresh_token()
            refresh_expires_at = _refresh_expiry(now, row["expires_at"])
            # A retry after a lost answer keeps the window of the first rotation (and its
            # token): the phone may lose this answer too, but not widen the window.
            retry = not hmac.compare_digest(bytes(row["refresh_hash"]), token_hash)
            if retry and row["last_token_id"]:
                # The access token of the lost answer never reached the phone: nobody needs it.
                revocation.revoke(
                    connection,
                    row["last_token_id"],
                    expires_at=row["expires_at"],
                    reason=f"device {row['id']}: answer lost, renewed again",
                )
            connection.execute(
                text("""
                UPDATE auth_device SET refresh_hash = :hash, refresh_expires_at = :refresh_expires_at,
                                       last_used_at = :now, last_token_id = :token_id,
                                       previous_refresh_hash = CASE WHEN :retry THEN previous_refresh_hash ELSE refresh_hash END,
                                       rotated_at = CASE WHEN :retry THEN rotated_at ELSE :now END
                WHERE id = :id
            """),
                {
                    "id": row["id"],
                    "hash": new_hash,
                    "refresh_expires_at": refresh_expires_at,
                    "now": now,
                    "token_id": token_id,
                    "retry": retry,
                },
            )
            renewal = Renewal(row["id"], access_token, now + lifetime, new_token, refresh_expires_at)
    device = row["id"] if row is not None else None
    if refusal is not None:
        if refusal == REUSE_REASON:
            log.warning(
                "device %s revoked: a rotated refresh token was presented",
                device,
                extra={"event": "auth.refresh_reused"},
            )
        raise RefreshRefused(f"{refusal} (device {device})")
    log.info("device %s refreshed", device, extra={"event": "auth.device_refreshed"})
    return renewal


# --------------------------------------------------------------------------- revoke, list


def _state(row, now: datetime) -> str:
    if row["revoked_at"] is not None:
        return "revoked"
    if now >= row["expires_at"]:
        return "expired"
    if now >= row["refresh_expires_at"]:
        return "idle"
    return "active"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def device_view(row, now: datetime | None = None) -> dict:
    """What admins and the CLI see of a device (never a token or its hash)."""
    return {
        "device_id": str(row["id"]),
        "issuer": row["issuer"],
        "subject": row["subject"],
        "agency": row["agency"],
        "role": row["role"],
        "jwk_thumbprint": row["jwk_thumbprint"],
        "state": _state(row, _now(now)),
        "signed_in_at": _iso(row["signed_in_at"]),
        "created_at": _iso(row["created_at"]),
        "last_used_at": _iso(row["last_used_at"]),
        "refresh_expires_at": _iso(row["refresh_expires_at"]),
        "expires_at": _iso(row["expires_at"]),
        "revoked_at": _iso(row["revoked_at"]),
        "revoked_reason": row["revoked_reason"],
    }


def revoke(
    connection: Connection,
    device_id: uuid.UUID,
    reason: str,
    *,
    owner: Principal | None = None,
    now: datetime | None = None,
) -> dict | None:
    """Revoke a device and its current access token; the device as it is now, or None when
    there is no such device (or, with ``owner``, none of theirs: same issuer and subject).
    Revoking a revoked device changes nothing."""
    now = _now(now)
    condition = "id = :id" + (" AND issuer = :issuer AND subject = :subject" if owner is not None else "")
    params = {"id": device_id, **({"issuer": owner.issuer, "subject": owner.subject} if owner is not None else {})}
    row = (
        connection.execute(text(f"SELECT {_DEVICE_COLUMNS} FROM auth_device WHERE {condition} FOR UPDATE"), params)
        .mappings()
        .first()
    )
    if row is None:
        return None
    if row["revoked_at"] is None:
        _revoke_row(connection, row, reason, now)
        log.info("device %s revoked", row["id"], extra={"event": "auth.device_revoked"})
        row = (
            connection.execute(text(f"SELECT {_DEVICE_COLUMNS} FROM auth_device WHERE id = :id"), {"id": device_id})
            .mappings()
            .one()
        )
    return device_view(row, now)


def list_devices(
    connection: Connection,
    *,
    subject: str | None = None,
    agency: str | None = None,
    issuer: str | None = None,
    limit: int = 100,
    now: datetime | None = None,
) -> list[dict]:
    """Devices, newest first, optionally of one subject, agency or issuer."""
    clauses: list[str] = ["true"]
    params: dict[str, object] = {"limit": limit}
    for name, value in (("subject", subject), ("agency", agency), ("issuer", issuer)):
        if value is not None:
            clauses.append(f"{name} = :{name}")
            params[name] = value
    rows = (
        connection.execute(
            text(f"""
        SELECT {_DEVICE_COLUMNS} FROM auth_device WHERE {" AND ".join(clauses)} ORDER BY created_at DESC, id LIMIT :limit
    """),
            params,
        )
        .mappings()
        .all()
    )
    return [device_view(row, now) for row in rows]
